/*
 * Standard Webhooks signing (shared/reference/providers.md, section 7).
 */
#include "webhook_sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define PREFIX "whsec_"

int webhook_sign_key(const char *secret, unsigned char *key, size_t cap, char *why, size_t whylen)
{
	unsigned char out[3 * 128 / 4 + 3];
	char padded[132];
	size_t n;
	if (!secret || strncmp(secret, PREFIX, strlen(PREFIX)))
		return errorf(why, whylen, "the secret must start with " PREFIX);
	secret += strlen(PREFIX);
	n = strlen(secret);
	if (n == 0 || n > 128 || strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
		return errorf(why, whylen, "the secret after " PREFIX " must be base64 of 16 to 64 bytes");
	/* The reference libraries accept a secret without its padding. */
	memcpy(padded, secret, n);
	while (n % 4)
		padded[n++] = '=';
	padded[n] = '\0';
	int len = EVP_DecodeBlock(out, (const unsigned char *)padded, (int)n);
	if (len < 0)
		return errorf(why, whylen, "the secret after " PREFIX " is not valid base64");
	for (size_t i = n; i > 0 && padded[i - 1] == '='; i--)
		len--;
	if (len < 16 || (size_t)len > cap || len > WEBHOOK_KEY_MAX)
		return errorf(why, whylen, "the secret must hold 16 to 64 bytes, not %d", len);
	memcpy(key, out, (size_t)len);
	return len;
}

void webhook_sign(const unsigned char *key, size_t keylen, const char *id, long long timestamp, const char *body,
		  size_t len, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *msg = xasprintf("%s.%lld.", id, timestamp);
	size_t hl = strlen(msg);
	msg = xrealloc(msg, hl + len + 1);
	memcpy(msg + hl, body, len);
	/* HMAC only fails on allocation or a broken libcrypto. */
	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, hl + len, mac, &maclen))
		abort();
	free(msg);
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
}
