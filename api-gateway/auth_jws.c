/*
 * A token is split on its two dots, its header decoded and its signature
 * checked before the payload is even decoded; duplicate names and NULs are
 * refused so that no two parsers can read different claims from one text.
 */
#include "auth_jws.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base64.h"
#include "errbuf.h"
#include "json.h"
#include "banned.h"

#define CLAIM_TIME_MAX 1.0e11 /* year 5138: later times come from a broken issuer */

static enum auth_result refuse(char *why, size_t whylen, const char *fmt, ...) PRINTF_LIKE(3, 4);

static enum auth_result refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return AUTH_INVALID;
}

/* Token text is echoed into messages only when it cannot garble a log line. */
static const char *printable(const char *s)
{
	size_t n = strnlen(s, 65);
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return "(unprintable)";
	return n > 64 ? "(too long)" : s;
}

/* Duplicate names let two parsers read different claims from one signed text. */
static bool has_duplicates(const cJSON *obj)
{
	for (const cJSON *x = obj->child; x; x = x->next)
		for (const cJSON *y = x->next; y; y = y->next)
			if (strcmp(x->string, y->string) == 0)
				return true;
	return false;
}

/* cJSON ends a string at a NUL, so "a\u0000b" would read as "a": such text is refused whole. */
static bool has_nul(const char *s, size_t n)
{
	if (memchr(s, '\0', n))
		return true;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
			return true;
		i++; /* the escaped character cannot start another escape */
	}
	return false;
}

static cJSON *decode_object(const char *s, size_t len)
{
	size_t n = 0;
	unsigned char *raw = base64_decode_strict(s, len, &n);
	cJSON *j = NULL;

	if (!raw)
		return NULL;
	if (!has_nul((const char *)raw, n))
		j = json_parse((const char *)raw, n);
	free(raw);
	if (j && (!cJSON_IsObject(j) || has_duplicates(j))) {
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

static enum auth_result verify_hs256(const struct auth_jws_policy *a, const char *input, size_t inlen,
				     const unsigned char *sig, size_t siglen, char *why, size_t whylen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (!a->secret)
		return refuse(why, whylen, "HS256 is not accepted: no JWT secret is configured");
	if (!HMAC(EVP_sha256(), a->secret, (int)a->secretlen, (const unsigned char *)input, inlen, mac, &maclen))
		return refuse(why, whylen, "HMAC computation failed");
	if (siglen != maclen || CRYPTO_memcmp(mac, sig, maclen) != 0)
		return refuse(why, whylen, "HS256 signature does not match");
	return AUTH_OK;
}

/* Tries the key named by kid, or every key of the type when the token names none. */
static enum auth_result verify_jwks(const struct auth_jws_policy *a, const cJSON *hdr, enum auth_jwks_type type,
				    const char *input, size_t inlen, const unsigned char *sig, size_t siglen, char *why,
				    size_t whylen)
{
	const char *alg = type == AUTH_JWKS_RSA ? "RS256" : "ES256";
	const cJSON *kidj = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
	const char *kid = cJSON_IsString(kidj) ? kidj->valuestring : NULL;
	int verified;

	if (kidj && !kid)
		return refuse(why, whylen, "kid is not a string");
	verified = auth_jwks_verify(a->jwks, kid, type, input, inlen, sig, siglen);
	if (verified > 0)
		return AUTH_OK;
	if (verified < 0 && kid)
		return refuse(why, whylen, "no %s key with kid \"%s\" in the JWKS file", alg, printable(kid));
	if (verified < 0)
		return refuse(why, whylen, "%s is not accepted: no such key in the JWKS file", alg);
	return refuse(why, whylen, "%s signature does not match", alg);
}

static enum auth_result verify_signature(const struct auth_jws_policy *a, const cJSON *hdr, const char *input,
					 size_t inlen, const char *s64, size_t s64len, char *why, size_t whylen)
{
	const char *alg = json_str(hdr, "alg");
	unsigned char *sig;
	size_t siglen = 0;
	enum auth_result r;

	if (!alg)
		return refuse(why, whylen, "header has no alg");
	if (strcmp(alg, "HS256") != 0 && strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0)
		return refuse(why, whylen, "alg \"%s\" is not accepted (HS256, RS256, ES256 are)", printable(alg));
	/* RFC 7515 4.1.11: extensions the recipient does not understand make the token invalid. */
	if (cJSON_GetObjectItemCaseSensitive(hdr, "crit"))
		return refuse(why, whylen, "header lists crit extensions; none are supported");
	sig = base64_decode_strict(s64, s64len, &siglen);
	if (!sig)
		return refuse(why, whylen, "signature is not base64url");
	if (alg[0] == 'H')
		r = verify_hs256(a, input, inlen, sig, siglen, why, whylen);
	else
		r = verify_jwks(a, hdr, alg[0] == 'R' ? AUTH_JWKS_RSA : AUTH_JWKS_EC, input, inlen, sig, siglen, why,
				whylen);
	free(sig);
	return r;
}

/* 1 with *out set, 0 when absent, -1 when not a plausible NumericDate (floats are allowed). */
static int claim_time(const cJSON *c, const char *name, double *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(c, name);

	if (!it)
		return 0;
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0 ||
	    it->valuedouble > CLAIM_TIME_MAX)
		return -1;
	*out = it->valuedouble;
	return 1;
}

static bool audience_ok(const cJSON *c, const char *want)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(c, "aud"), *it;

	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, want) == 0;
	if (!cJSON_IsArray(aud))
		return false;
	cJSON_ArrayForEach (it, aud) {
		if (cJSON_IsString(it) && strcmp(it->valuestring, want) == 0)
			return true;
	}
	return false;
}

/* Never truncates: two long subs sharing a prefix must not become one owner. */
static enum auth_result copy_sub(const cJSON *c, char *sub, size_t sublen, char *why, size_t whylen)
{
	const char *s = json_str(c, "sub");
	size_t n;

	if (!s || !*s)
		return refuse(why, whylen, "no sub claim");
	n = strlen(s);
	if (n >= AUTH_SUB_MAX || n >= sublen)
		return refuse(why, whylen, "sub is longer than %zu bytes",
			      (sublen < AUTH_SUB_MAX ? sublen : AUTH_SUB_MAX) - 1);
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] > 0x7e)
			return refuse(why, whylen, "sub holds spaces or characters other than printable ASCII");
	memcpy(sub, s, n + 1);
	return AUTH_OK;
}

/* Expiry is judged last, so AUTH_EXPIRED means a refreshed token would pass. */
static enum auth_result check_claims(const struct auth_jws_policy *a, const cJSON *c, time_t now, char *sub,
				     size_t sublen, char *why, size_t whylen)
{
	double t = (double)now, lee = (double)a->leeway, exp = 0, nbf = 0, iat = 0;
	int has_exp = claim_time(c, "exp", &exp), has_nbf = claim_time(c, "nbf", &nbf);
	int has_iat = claim_time(c, "iat", &iat);

	if (has_exp <= 0)
		return refuse(why, whylen, has_exp ? "exp is not a NumericDate" : "no exp claim");
	if (has_nbf < 0 || has_iat < 0)
		return refuse(why, whylen, "%s is not a NumericDate", has_nbf < 0 ? "nbf" : "iat");
	if (has_nbf && t + lee < nbf)
		return refuse(why, whylen, "not valid for another %.0f s (nbf)", nbf - t);
	if (has_iat && t + lee < iat)
		return refuse(why, whylen, "issued %.0f s in the future (iat)", iat - t);
	if (a->audience && !audience_ok(c, a->audience))
		return refuse(why, whylen, "aud does not name the audience \"%s\"", printable(a->audience));
	if (copy_sub(c, sub, sublen, why, whylen) != AUTH_OK)
		return AUTH_INVALID;
	if (t - lee >= exp) {
		sub[0] = '\0';
		errbuf_set(why, whylen, "expired %.0f s ago", t - exp);
		return AUTH_EXPIRED;
	}
	return AUTH_OK;
}

enum auth_result auth_jws_verify(const struct auth_jws_policy *a, const char *token, size_t len, time_t now, char *sub,
				 size_t sublen, char *why, size_t whylen)
{
	const char *d1, *d2, *end = token + len;
	enum auth_result r;
	cJSON *hdr, *claims;

	d1 = memchr(token, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', (size_t)(end - d1 - 1)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)))
		return refuse(why, whylen, "not a compact JWS of three dot-separated parts");
	if (d1 == token || d2 == d1 + 1 || d2 + 1 == end)
		return refuse(why, whylen, "a part of the token is empty");
	hdr = decode_object(token, (size_t)(d1 - token));
	if (!hdr)
		return refuse(why, whylen, "header is not a base64url JSON object");
	r = verify_signature(a, hdr, token, (size_t)(d2 - token), d2 + 1, (size_t)(end - d2 - 1), why, whylen);
	cJSON_Delete(hdr);
	if (r != AUTH_OK)
		return r;
	claims = decode_object(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!claims)
		return refuse(why, whylen, "payload is not a base64url JSON object");
	r = check_claims(a, claims, now, sub, sublen, why, whylen);
	cJSON_Delete(claims);
	return r;
}
