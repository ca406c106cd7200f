/*
 * libFuzzer target: what fal sends webhook-receiver and its sweeper
 * (common/vendors/fal_queue.c): webhook bodies, queue status and result answers, JWKS
 * documents, and the ED25519 signature check. The first byte picks the
 * reader; for the signature, request id, user id, timestamp and signature
 * are the first four lines and the body follows.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vendors/fal_queue.h"
#include "fuzz_lines.h"
#include "util.h"

/* The simulator's signing key (tests/sim/vendors_render.py, seed 0x07 * 32). */
#define JWKS "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw\"}]}"
#define NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fal_keys *sim_keys(void)
{
	static struct fal_keys *keys;
	char err[256];
	if (!keys)
		keys = fal_queue_keys_parse(JWKS, strlen(JWKS), err, sizeof(err));
	assert(keys);
	return keys;
}

/* Random bytes never carry a valid signature of the simulator's key. */
static void check_signature(const char *data, size_t size)
{
	char *text = xmalloc(size + 1), *p = text, why[256];
	memcpy(text, data, size);
	text[size] = '\0';
	char *rid = fuzz_line(&p), *uid = fuzz_line(&p), *ts = fuzz_line(&p), *sig = fuzz_line(&p);
	const char *body = p ? p : "";
	size_t len = p ? size - (size_t)(p - text) : 0;
	int rc = fal_queue_verify(sim_keys(), rid, uid, ts, sig, body, len, NOW, 300, why, sizeof(why));
	assert(rc < 0 && why[0]);
	free(text);
}

/* strict_id: the body itself must name the request (webhooks and queue answers; a result does not). */
static void check_result(int rc, struct vendor_result *res, const char *err, bool strict_id)
{
	if (rc < 0) {
		assert(err[0]);
		return;
	}
	assert(res->n_outputs <= VENDOR_MAX_OUTPUTS);
	assert(res->id[0] || !strict_id);
	assert(res->state != VENDOR_FAILED || res->error[0]);
	vendors_result_release(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vendor_result res = { 0 };
	char err[256] = "";
	struct fal_keys *keys;
	if (size == 0)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 5) {
	case 0: check_result(fal_queue_read_webhook(body, len, &res, err, sizeof(err)), &res, err, true); break;
	case 1: check_result(fal_queue_read_queue(body, len, &res, err, sizeof(err)), &res, err, true); break;
	case 2: check_result(fal_queue_read_result(body, len, &res, err, sizeof(err)), &res, err, false); break;
	case 3:
		keys = fal_queue_keys_parse(body, len, err, sizeof(err));
		assert(keys || err[0]);
		fal_queue_keys_free(keys);
		break;
	default: check_signature(body, len);
	}
	return 0;
}
