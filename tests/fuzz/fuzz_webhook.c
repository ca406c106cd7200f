/*
 * libFuzzer target: the gateway's outbound Standard Webhooks code
 * (api-gateway/webhook.c) — the whsec_ secret decoding and signing, and the
 * webhook_url address parsing. Input: secret, a newline, then the URL.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size), *url = strchr(text, '\n'), why[256], sig[WEBHOOK_SIG_LEN];
	unsigned char key[WEBHOOK_KEY_MAX];
	struct webhook_target t;
	if (url)
		*url++ = '\0';
	int n = webhook_sign_key(text, key, sizeof(key), why, sizeof(why));
	if (n >= 0) {
		assert(n >= 16 && (size_t)n <= sizeof(key));
		webhook_sign(key, (size_t)n, "msg_1", 1700000000, text, strlen(text), sig);
		assert(strncmp(sig, "v1,", 3) == 0);
	}
	if (url && webhook_addr_parse(url, &t, why, sizeof(why)) == 0)
		assert(t.port > 0 && t.port < 65536 && t.host[0]);
	free(text);
	return 0;
}
