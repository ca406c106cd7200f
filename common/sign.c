/*
 * HMAC-SHA256 signatures of download URLs. The signed message is
 * "reel-file-v1\n<key>\n<exp>": keys never hold control characters and exp is
 * digits only, so no two (key, exp) pairs share a message.
 */
#include "sign.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "errbuf.h"
#include "banned.h"

#define PURPOSE "reel-file-v1"
#define MAC_LEN 32
#define EXP_MAX_DIGITS 18 /* fits any time_t we meet without overflow */

static void mac(const char *secret, const char *key, const char *exp, unsigned char out[MAC_LEN])
{
	char *msg = xasprintf(PURPOSE "\n%s\n%s", key, exp);
	unsigned int len = 0;
	unsigned char *ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, strlen(msg),
				 out, &len);
	/* HMAC only fails on allocation or a broken libcrypto; a wrong MAC would be worse than stopping. */
	assert(ok && len == MAC_LEN);
	(void)ok;
	free(msg);
}

static void to_hex(const unsigned char m[MAC_LEN], char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < MAC_LEN; i++) {
		out[2 * i] = hex[m[i] >> 4];
		out[2 * i + 1] = hex[m[i] & 15];
	}
	out[SIGN_HEX_LEN] = '\0';
}

void sign_compute(const char *secret, const char *key, const char *exp, char *out)
{
	unsigned char m[MAC_LEN];
	mac(secret, key, exp, m);
	to_hex(m, out);
}

void sign_hmac_hex(const void *key, size_t keylen, const void *msg, size_t len, char *out)
{
	unsigned char m[MAC_LEN];
	unsigned int n = 0;
	unsigned char *ok = HMAC(EVP_sha256(), key, (int)keylen, msg, len, m, &n);
	/* HMAC only fails on allocation or a broken libcrypto; a wrong MAC would be worse than stopping. */
	assert(ok && n == MAC_LEN);
	(void)ok;
	to_hex(m, out);
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '~';
}

char *sign_encode_key(const char *key)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(3 * strlen(key) + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if (unreserved(*p) || *p == '/') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

char *sign_file_url(const char *secret, const char *base, const char *key, time_t exp)
{
	char sig[SIGN_HEX_LEN + 1], expt[32], *enc, *url;
	size_t blen = strlen(base);

	assert(secret && *secret);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	snprintf(expt, sizeof(expt), "%lld", (long long)exp);
	sign_compute(secret, key, expt, sig);
	enc = sign_encode_key(key);
	url = xasprintf("%.*s/%s?exp=%s&sig=%s", (int)blen, base, enc, expt, sig);
	free(enc);
	return url;
}

time_t sign_expiry(time_t now, long ttl)
{
	time_t exp = now + ttl;
	if (ttl <= 0 || exp <= 0)
		return exp;
	return (exp + SIGN_EXP_STEP - 1) / SIGN_EXP_STEP * SIGN_EXP_STEP;
}

/* exp as seconds: 1 to EXP_MAX_DIGITS digits and nothing else. */
static int parse_exp(const char *s, long long *out)
{
	long long v = 0;
	size_t n = 0;
	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n == EXP_MAX_DIGITS)
			return -1;
		v = v * 10 + (s[n] - '0');
	}
	*out = v;
	return n ? 0 : -1;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int parse_sig(const char *s, unsigned char out[MAC_LEN])
{
	if (strlen(s) != SIGN_HEX_LEN)
		return -1;
	for (size_t i = 0; i < MAC_LEN; i++) {
		int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

bool sign_hex_equal(const char *want, const char *got, size_t len)
{
	unsigned char w[MAC_LEN], g[MAC_LEN];
	char copy[SIGN_HEX_LEN + 1];
	if (len != SIGN_HEX_LEN)
		return false;
	memcpy(copy, got, len);
	copy[len] = '\0';
	if (parse_sig(want, w) < 0 || parse_sig(copy, g) < 0)
		return false;
	return CRYPTO_memcmp(w, g, MAC_LEN) == 0;
}

int sign_check(const char *secret, const char *key, const char *exp, const char *sig, time_t now, char *why,
	       size_t whylen)
{
	unsigned char want[MAC_LEN], got[MAC_LEN];
	long long e;

	if (!secret || !*secret)
		return errbuf_set(why, whylen, "no secret configured for signed URLs");
	if (!key || !exp || !sig)
		return errbuf_set(why, whylen, "malformed: the URL lacks %s", !key ? "a key" : !exp ? "exp" : "sig");
	if (parse_exp(exp, &e) < 0)
		return errbuf_set(why, whylen, "malformed exp: expected unix seconds");
	if (parse_sig(sig, got) < 0)
		return errbuf_set(why, whylen, "malformed sig: expected %d hex digits", SIGN_HEX_LEN);
	mac(secret, key, exp, want);
	if (CRYPTO_memcmp(want, got, MAC_LEN) != 0)
		return errbuf_set(why, whylen, "bad signature");
	if ((long long)now > e)
		return errbuf_set(why, whylen, "expired %lld s ago", (long long)now - e);
	return 0;
}
