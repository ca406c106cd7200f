/*
 * Shared by the unit tests of gateway authentication: JWTs encoded and
 * signed here, independently of the code under test, with keys made at test
 * time (HS256, RS256 and ES256; a JWKS file of some of them written to a
 * temp dir by setup_keys), and verify helpers. Included by each test file.
 */
#ifndef REEL_AUTH_FIXTURE_H
#define REEL_AUTH_FIXTURE_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth.h"
#include "auth_api_key.h"
#include "str.h"
#include "util.h"
#include "../unit_suite.h"
#include "banned.h"

#define NOW 1700000000L
#define SECRET "super-secret-jwt-token-with-at-least-32-characters-long"
#define AUD "authenticated"

static char tmpdir[] = "/tmp/test_auth.XXXXXX";
static char jwks_path[300];
static EVP_PKEY *rsa_a, *rsa_b, *rsa_c, *ec_a, *ec_c; /* rsa_c and ec_c are not in the JWKS file */
static char why[256];

/* ---- encoding and signing, done independently of the code under test ---- */

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static inline char *b64url(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	ck_assert_int_ge(len, 0);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *c = out; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	return out;
}

static inline char *b64url_str(const char *s)
{
	return b64url((const unsigned char *)s, strlen(s));
}

static inline char *bn_b64url(const BIGNUM *bn, int pad)
{
	int n = pad ? pad : BN_num_bytes(bn);
	unsigned char *buf = xmalloc((size_t)n);
	ck_assert_int_eq(BN_bn2binpad(bn, buf, n), n);
	char *s = b64url(buf, (size_t)n);
	free(buf);
	return s;
}

static inline unsigned char *sign_pkey(EVP_PKEY *pkey, const char *input, size_t *siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig;

	ck_assert_int_eq(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey), 1);
	ck_assert_int_eq(EVP_DigestSign(md, NULL, siglen, (const unsigned char *)input, strlen(input)), 1);
	sig = xmalloc(*siglen);
	ck_assert_int_eq(EVP_DigestSign(md, sig, siglen, (const unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(md);
	return sig;
}

/* ES256 in JWS is raw r || s, not the DER OpenSSL produces. */
static inline unsigned char *der_to_raw(unsigned char *der, size_t derlen, size_t *siglen)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	unsigned char *raw = xmalloc(64);

	ck_assert_ptr_nonnull(es);
	ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32), 32);
	ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32), 32);
	ECDSA_SIG_free(es);
	free(der);
	*siglen = 64;
	return raw;
}

/* A compact JWS of header and payload (JSON texts): signed by alg with secret or pkey; "none" leaves it unsigned. */
static inline char *jws(const char *header, const char *payload, const char *alg, const char *secret, EVP_PKEY *pkey)
{
	char *h = b64url_str(header), *p = b64url_str(payload);
	char *input = xasprintf("%s.%s", h, p), *s64, *tok;
	unsigned char *sig = NULL;
	size_t siglen = 0;

	if (strcmp(alg, "HS256") == 0) {
		unsigned int len = 0;
		sig = xmalloc(EVP_MAX_MD_SIZE);
		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)input,
					   strlen(input), sig, &len));
		siglen = len;
	} else if (strcmp(alg, "RS256") == 0) {
		sig = sign_pkey(pkey, input, &siglen);
	} else if (strcmp(alg, "ES256") == 0) {
		sig = sign_pkey(pkey, input, &siglen);
		sig = der_to_raw(sig, siglen, &siglen);
	}
	s64 = b64url(sig ? sig : (const unsigned char *)"", siglen);
	tok = xasprintf("%s.%s", input, s64);
	free(h);
	free(p);
	free(input);
	free(s64);
	free(sig);
	return tok;
}

/* A token with the usual header {"alg","typ"[,"kid"]}. */
static inline char *tok(const char *alg, const char *kid, const char *payload, const char *secret, EVP_PKEY *pkey)
{
	char *header = kid ? xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid)
			   : xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	char *t = jws(header, payload, alg, secret, pkey);
	free(header);
	return t;
}

/* Claims for sub "user-42" with the given expiry and the configured audience. */
static inline char *claims_exp(long exp)
{
	return xasprintf("{\"sub\":\"user-42\",\"aud\":\"" AUD "\",\"iat\":%ld,\"exp\":%ld}", NOW - 10, exp);
}

static inline char *good_claims(void)
{
	return claims_exp(NOW + 3600);
}

/* ---- fixtures ---- */

static inline void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static inline cJSON *rsa_jwk(EVP_PKEY *pkey, const char *kid)
{
	BIGNUM *n = NULL, *e = NULL;
	cJSON *k = cJSON_CreateObject();
	char *sn, *se;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	ck_assert_int_eq(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	sn = bn_b64url(n, 0);
	se = bn_b64url(e, 0);
	cJSON_AddStringToObject(k, "kty", "RSA");
	if (kid)
		cJSON_AddStringToObject(k, "kid", kid);
	cJSON_AddStringToObject(k, "use", "sig");
	cJSON_AddStringToObject(k, "alg", "RS256");
	cJSON_AddStringToObject(k, "n", sn);
	cJSON_AddStringToObject(k, "e", se);
	free(sn);
	free(se);
	BN_free(n);
	BN_free(e);
	return k;
}

static inline cJSON *ec_jwk(EVP_PKEY *pkey, const char *kid)
{
	BIGNUM *x = NULL, *y = NULL;
	cJSON *k = cJSON_CreateObject();
	char *sx, *sy;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
	ck_assert_int_eq(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
	sx = bn_b64url(x, 32);
	sy = bn_b64url(y, 32);
	cJSON_AddStringToObject(k, "kty", "EC");
	cJSON_AddStringToObject(k, "crv", "P-256");
	if (kid)
		cJSON_AddStringToObject(k, "kid", kid);
	cJSON_AddStringToObject(k, "x", sx);
	cJSON_AddStringToObject(k, "y", sy);
	free(sx);
	free(sy);
	BN_free(x);
	BN_free(y);
	return k;
}

/* Writes {"keys":[...]} of the given JWKs (consumed) to name in the temp dir; returns the path (static). */
static inline const char *write_jwks(const char *name, cJSON *keys)
{
	static char path[300];
	cJSON *root = cJSON_CreateObject();
	char *text;

	cJSON_AddItemToObject(root, "keys", keys);
	text = cJSON_PrintUnformatted(root);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	write_file(path, text);
	cJSON_free(text);
	cJSON_Delete(root);
	return path;
}

static inline void setup_keys(void)
{
	cJSON *keys = cJSON_CreateArray();

	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	rsa_a = EVP_RSA_gen(2048);
	rsa_b = EVP_RSA_gen(2048);
	rsa_c = EVP_RSA_gen(2048);
	ec_a = EVP_EC_gen("P-256");
	ec_c = EVP_EC_gen("P-256");
	ck_assert(rsa_a && rsa_b && rsa_c && ec_a && ec_c);
	cJSON_AddItemToArray(keys, rsa_jwk(rsa_a, "ra"));
	cJSON_AddItemToArray(keys, rsa_jwk(rsa_b, "rb"));
	cJSON_AddItemToArray(keys, ec_jwk(ec_a, "e1"));
	str_copy(jwks_path, write_jwks("jwks.json", keys), sizeof(jwks_path));
}

static inline void teardown_keys(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *p = xasprintf("%s/%s", tmpdir, de->d_name);
		if (de->d_name[0] != '.')
			unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	EVP_PKEY_free(rsa_a);
	EVP_PKEY_free(rsa_b);
	EVP_PKEY_free(rsa_c);
	EVP_PKEY_free(ec_a);
	EVP_PKEY_free(ec_c);
}

static inline struct auth *make_auth(const char *secret, const char *jwks, const char *aud, long leeway)
{
	struct auth_settings s = { .jwt_secret = secret, .jwks_file = jwks, .audience = aud, .leeway_s = leeway };
	char err[300] = "";
	struct auth *a = auth_new(&s, err, sizeof(err));
	ck_assert_msg(a != NULL, "auth_new: %s", err);
	return a;
}

static inline struct auth *full_auth(void)
{
	return make_auth(SECRET, jwks_path, AUD, 60);
}

static inline enum auth_result verify(const struct auth *a, const char *token, char *sub)
{
	why[0] = '\0';
	return auth_verify_jwt(a, token, NOW, sub, AUTH_SUB_MAX, why, sizeof(why));
}

/* Verifies a token and frees it; returns the result. */
static inline enum auth_result verify_free(const struct auth *a, char *token)
{
	char sub[AUTH_SUB_MAX];
	enum auth_result r = verify(a, token, sub);
	free(token);
	return r;
}

#define ck_ok(a, t) \
	do { \
		enum auth_result r_ = verify_free((a), (t)); \
		ck_assert_msg(r_ == AUTH_OK, "refused (%d): %s", r_, why); \
	} while (0)
#define ck_refused(a, t, want) \
	do { \
		enum auth_result r_ = verify_free((a), (t)); \
		ck_assert_msg(r_ == (want), "got %d, want %d: %s", r_, (want), why); \
		ck_assert_msg(why[0] != '\0', "no reason given"); \
	} while (0)

#endif
