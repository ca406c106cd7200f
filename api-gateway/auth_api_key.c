/*
 * API keys are compared by hash in constant time; minting draws from the
 * kernel's generator without modulo bias.
 */
#include "auth_api_key.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "banned.h"

static bool key_chars(const char *s, size_t n, bool upper)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (upper && c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

int auth_api_key_split(const char *key, char *prefix, size_t prefixlen)
{
	const size_t head = 3 + AUTH_KEY_PREFIX_LEN + 1;
	size_t n;

	if (!key || strncmp(key, "rk_", 3) != 0)
		return -1;
	n = strnlen(key, AUTH_KEY_MAX);
	if (n < head + AUTH_KEY_SECRET_MIN || n > head + AUTH_KEY_SECRET_MAX || key[head - 1] != '_')
		return -1;
	if (!key_chars(key + 3, AUTH_KEY_PREFIX_LEN, false) || !key_chars(key + head, n - head, true))
		return -1;
	if (prefixlen <= AUTH_KEY_PREFIX_LEN)
		return -1;
	memcpy(prefix, key + 3, AUTH_KEY_PREFIX_LEN);
	prefix[AUTH_KEY_PREFIX_LEN] = '\0';
	return 0;
}

void auth_api_key_hash(const char *key, char hex[65])
{
	auth_sha256_hex(key, strlen(key), hex);
}

bool auth_api_key_matches(const char *key, const char *stored_hex)
{
	char prefix[AUTH_KEY_PREFIX_LEN + 1], hex[65];

	if (auth_api_key_split(key, prefix, sizeof(prefix)) < 0 || !stored_hex || strnlen(stored_hex, 65) != 64)
		return false;
	auth_api_key_hash(key, hex);
	return CRYPTO_memcmp(hex, stored_hex, 64) == 0;
}

/* n characters drawn uniformly from alphabet: bytes past the last whole multiple are discarded. */
static void random_chars(char *out, size_t n, const char *alphabet)
{
	size_t alen = strlen(alphabet), i = 0;
	unsigned limit = 256 - 256 % (unsigned)alen;
	unsigned char buf[64];

	while (i < n) {
		ssize_t got = getrandom(buf, sizeof(buf), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			fprintf(stderr, "fatal: no randomness available\n");
			abort();
		}
		for (ssize_t j = 0; j < got && i < n; j++)
			if (buf[j] < limit)
				out[i++] = alphabet[buf[j] % alen];
	}
	out[n] = '\0';
}

void auth_api_key_mint(char *out, size_t outlen, char *prefix, size_t prefixlen)
{
	char secret[AUTH_KEY_MINT_SECRET_LEN + 1];

	assert(outlen >= AUTH_KEY_MAX && prefixlen > AUTH_KEY_PREFIX_LEN);
	random_chars(prefix, AUTH_KEY_PREFIX_LEN, "abcdefghijklmnopqrstuvwxyz0123456789");
	random_chars(secret, AUTH_KEY_MINT_SECRET_LEN,
		     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
	snprintf(out, outlen, "rk_%s_%s", prefix, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
}
