/*
 * Making and checking stream tokens (stream_token.h). The signed message is
 * "reel-stream-v1\n<job>\n<owner>\n<exp>": the purpose tag keeps a download
 * URL's signature (sign.c, same secret) from ever passing as a token, the
 * job id is a UUID and exp digits only, so the owner between them is
 * unambiguous.
 */
#include "stream_token.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "errbuf.h"
#include "banned.h"

#define PURPOSE "reel-stream-v1"
#define MAC_LEN 32
#define EXP_MAX_DIGITS 18

static void mac(const char *secret, const char *job, const char *owner, long long exp, unsigned char out[MAC_LEN])
{
	char *msg = xasprintf(PURPOSE "\n%s\n%s\n%lld", job, owner, exp);
	unsigned int len = 0;
	unsigned char *ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, strlen(msg),
				 out, &len);
	/* HMAC only fails on allocation or a broken libcrypto: stop rather than hand out a wrong token. */
	assert(ok && len == MAC_LEN);
	(void)ok;
	free(msg);
}

static void hex_encode(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes n hex chars of s into out (cap bytes); the byte count, or -1. */
static long hex_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

char *stream_token_make(const char *secret, const char *job, const char *owner, time_t exp)
{
	unsigned char m[MAC_LEN];
	size_t olen = strlen(owner);
	char *ohex = xmalloc(2 * olen + 1), sig[2 * MAC_LEN + 1];

	assert(secret && *secret);
	mac(secret, job, owner, (long long)exp, m);
	hex_encode((const unsigned char *)owner, olen, ohex);
	hex_encode(m, MAC_LEN, sig);
	char *token = xasprintf("%lld.%s.%s", (long long)exp, ohex, sig);
	free(ohex);
	return token;
}

/* Splits "<exp>.<hex owner>.<hex mac>" into its parts; -1 when it is not that. */
static int parse(const char *token, long long *exp, char *owner, size_t ownerlen, unsigned char sig[MAC_LEN])
{
	const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || d1 == token || d1 - token > EXP_MAX_DIGITS || d2 == d1 + 1)
		return -1;
	*exp = 0;
	for (const char *p = token; p < d1; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		*exp = *exp * 10 + (*p - '0');
	}
	long olen = hex_decode(d1 + 1, (size_t)(d2 - d1 - 1), (unsigned char *)owner, ownerlen - 1);
	if (olen < 0 || memchr(owner, '\0', (size_t)olen))
		return -1;
	owner[olen] = '\0';
	return strlen(d2 + 1) == 2 * MAC_LEN && hex_decode(d2 + 1, 2 * MAC_LEN, sig, MAC_LEN) == MAC_LEN ? 0 : -1;
}

int stream_token_check(const char *secret, const char *token, const char *job, time_t now, char *owner, size_t ownerlen,
		       char *why, size_t whylen)
{
	unsigned char want[MAC_LEN], got[MAC_LEN];
	long long exp;

	assert(secret && *secret && ownerlen > 0);
	if (parse(token, &exp, owner, ownerlen, got) < 0)
		return errbuf_set(why, whylen, "malformed stream token");
	mac(secret, job, owner, exp, want);
	if (CRYPTO_memcmp(want, got, MAC_LEN) != 0)
		return errbuf_set(why, whylen, "the stream token is not for this job or was altered");
	if (exp < (long long)now)
		return errbuf_set(why, whylen, "the stream token has expired");
	if (exp > (long long)now + STREAM_TOKEN_TTL_MAX + STREAM_TOKEN_SKEW_S)
		return errbuf_set(why, whylen, "the stream token's expiry is further than %d s away",
				  STREAM_TOKEN_TTL_MAX);
	return 0;
}
