/*
 * libFuzzer target: what vendors send back to the render path, all of it
 * untrusted — Replicate predictions and Standard Webhooks signatures
 * (common/replicate.c), fal queue, webhook and result bodies, JWKS documents
 * and ED25519 signatures (common/fal.c). Input: a header line (webhook-id,
 * timestamp, signature separated by '|'), a newline, then the body.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fal.h"
#include "replicate.h"
#include "util.h"

#define SECRET "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define JWKS "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw\"}]}"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parser's result holds together: outputs counted within bounds, strings terminated. */
static void check_result(int (*read)(const char *, size_t, struct vendor_result *, char *, size_t), const char *body,
			 size_t len)
{
	struct vendor_result r = { 0 };
	char err[256];
	if (read(body, len, &r, err, sizeof(err)) == 0) {
		assert(r.n_outputs <= VENDOR_MAX_OUTPUTS);
		for (size_t i = 0; i < r.n_outputs; i++)
			assert(r.outputs[i] && strlen(r.outputs[i]) < len + 1);
		assert(memchr(r.id, '\0', sizeof(r.id)) && memchr(r.error, '\0', sizeof(r.error)));
	}
	vendor_result_release(&r);
}

static void check_signatures(const char *headers, const char *body, size_t len)
{
	static struct fal_keys *keys;
	char *line = xstrdup(headers), *ts = strchr(line, '|'), *sig = NULL, why[256];
	if (!keys)
		keys = fal_keys_parse(JWKS, strlen(JWKS), why, sizeof(why));
	assert(keys);
	if (ts) {
		*ts++ = '\0';
		sig = strchr(ts, '|');
		if (sig)
			*sig++ = '\0';
	}
	/* Random bytes never carry a valid signature. */
	assert(replicate_verify(SECRET, line, ts ? ts : "", sig ? sig : "", body, len, 1700000000, 300, why,
				sizeof(why)) < 0);
	assert(fal_verify(keys, line, "user", ts ? ts : "", sig ? sig : "", body, len, 1700000000, 300, why,
			  sizeof(why)) < 0);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size), *body = strchr(text, '\n'), err[256];
	if (body)
		*body++ = '\0';
	else
		body = text;
	size_t len = strlen(body);
	check_result(replicate_read, body, len);
	check_result(fal_read_queue, body, len);
	check_result(fal_read_webhook, body, len);
	check_result(fal_read_result, body, len);
	struct fal_keys *k = fal_keys_parse(body, len, err, sizeof(err));
	fal_keys_free(k);
	check_signatures(text, body, len);
	free(text);
	return 0;
}
