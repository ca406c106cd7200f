/*
 * libFuzzer target: a Replicate callback as webhook-receiver reads it
 * (common/vendors/replicate_api.c): the Standard Webhooks signature check over the raw
 * bytes, then the prediction body. Input: webhook-id, webhook-timestamp and
 * webhook-signature on the first three lines, then the body.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vendors/replicate_api.h"
#include "fuzz_lines.h"
#include "util.h"

#define SECRET "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the receiver checks before it parses: a forged signature never passes,
 * and our own signature over the same bytes does. */
static void check_signature(const char *id, const char *ts, const char *sig, const char *body, size_t len)
{
	char why[256];
	int rc = replicate_api_verify(SECRET, id, ts, sig, body, len, NOW, 300, why, sizeof(why));
	assert(rc == 0 || why[0]);
	if (!id || !*id || !ts)
		return;
	char *good = replicate_api_sign(SECRET, id, ts, body, len), *end;
	long long t = strtoll(ts, &end, 10);
	if (end != ts && !*end && t >= NOW - 300 && t <= NOW + 300)
		assert(replicate_api_verify(SECRET, id, ts, good, body, len, NOW, 300, why, sizeof(why)) == 0);
	free(good);
}

static void check_body(const char *body, size_t len)
{
	struct vendor_result res;
	char err[256];
	if (replicate_api_read(body, len, &res, err, sizeof(err)) < 0) {
		assert(err[0]);
		return;
	}
	assert(res.id[0] && res.n_outputs <= VENDOR_MAX_OUTPUTS);
	assert(res.state == VENDOR_SUCCEEDED || res.n_outputs == 0);
	/* A failure always carries a reason the job can show. */
	assert(res.state != VENDOR_FAILED || res.error[0]);
	for (size_t i = 0; i < res.n_outputs; i++)
		assert(res.outputs[i] && res.outputs[i][0]);
	vendors_result_release(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1), *p = text;
	memcpy(text, data, size);
	text[size] = '\0';
	char *id = fuzz_line(&p), *ts = fuzz_line(&p), *sig = fuzz_line(&p);
	/* The body keeps its embedded NULs: the receiver passes length and bytes. */
	const char *body = p ? p : "";
	size_t len = p ? size - (size_t)(p - text) : 0;
	check_signature(id, ts, sig, body, len);
	check_body(body, len);
	free(text);
	return 0;
}
