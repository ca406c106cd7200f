/*
 * Bearer authentication: the gateway's struct auth holds what tokens are
 * checked against (auth_jws verifies them, auth_jwks holds the JWKS keys);
 * rk_ API keys are auth_api_key's.
 */
#include "auth.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "auth_jws.h"
#include "errbuf.h"
#include "banned.h"

#define SECRET_MIN 32 /* RFC 7518 3.2: an HS256 key is at least as long as the hash */
#define LEEWAY_MAX 3600

struct auth {
	unsigned char *secret; /* HS256 key, or NULL */
	size_t secretlen;
	char *audience; /* or NULL: aud not checked */
	long leeway;
	struct auth_jwks *jwks; /* or NULL */
};

struct auth *auth_new(const struct auth_settings *s, char *err, size_t errlen)
{
	struct auth *a;

	if (s->leeway_s < 0 || s->leeway_s > LEEWAY_MAX) {
		errbuf_set(err, errlen, "JWT leeway of %ld s; 0 to %d accepted", s->leeway_s, LEEWAY_MAX);
		return NULL;
	}
	a = xcalloc(1, sizeof(*a));
	a->leeway = s->leeway_s;
	if (s->audience && *s->audience)
		a->audience = xstrdup(s->audience);
	if (s->jwt_secret && *s->jwt_secret) {
		a->secretlen = strlen(s->jwt_secret);
		a->secret = (unsigned char *)xstrdup(s->jwt_secret);
		if (a->secretlen < SECRET_MIN) {
			errbuf_set(err, errlen, "JWT secret of %zu bytes; HS256 needs at least %d", a->secretlen,
				   SECRET_MIN);
			goto fail;
		}
	}
	if (s->jwks_file && *s->jwks_file && !(a->jwks = auth_jwks_load(s->jwks_file, err, errlen)))
		goto fail;
	return a;
fail:
	auth_free(a);
	ERR_clear_error();
	return NULL;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	if (a->secret)
		OPENSSL_cleanse(a->secret, a->secretlen);
	free(a->secret);
	free(a->audience);
	auth_jwks_free(a->jwks);
	free(a);
}

bool auth_enabled(const struct auth *a)
{
	return a && (a->secret || a->jwks);
}

const char *auth_bearer_token(const char *authorization)
{
	const char *t = authorization;

	if (!t || strncasecmp(t, "Bearer", 6) != 0 || (t[6] != ' ' && t[6] != '\t'))
		return NULL;
	for (t += 6; *t == ' ' || *t == '\t'; t++)
		;
	if (!*t || strpbrk(t, " \t\r\n"))
		return NULL;
	return t;
}

bool auth_is_api_key(const char *token)
{
	return token && strncmp(token, "rk_", 3) == 0;
}

enum auth_result auth_verify_jwt(const struct auth *a, const char *token, time_t now, char *sub, size_t sublen,
				 char *why, size_t whylen)
{
	size_t len;

	assert(sub && sublen > 0);
	sub[0] = '\0';
	if (!token || !*token) {
		errbuf_set(why, whylen, "no token");
		return AUTH_MISSING;
	}
	len = strnlen(token, AUTH_TOKEN_MAX + 1);
	if (len > AUTH_TOKEN_MAX) {
		errbuf_set(why, whylen, "token longer than %d bytes", AUTH_TOKEN_MAX);
		return AUTH_INVALID;
	}
	if (!auth_enabled(a)) {
		errbuf_set(why, whylen, "JWT authentication is not configured");
		return AUTH_INVALID;
	}
	const struct auth_jws_policy p = { a->secret, a->secretlen, a->audience, a->leeway, a->jwks };
	return auth_jws_verify(&p, token, len, now, sub, sublen, why, whylen);
}

void auth_sha256_hex(const void *data, size_t len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ok = EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);

	assert(ok == 1 && mdlen == 32);
	for (unsigned int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}
