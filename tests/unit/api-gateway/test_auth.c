/*
 * Unit tests for gateway authentication: JWTs signed here with keys made at
 * test time (HS256, RS256 and ES256 against a JWKS file written to a temp
 * dir), the attacks a verifier must refuse (alg none, key confusion, foreign
 * keys, tampering, malformed encodings), claim timing, audience, kid
 * selection, JWKS validation and rk_ API keys.
 */
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

static char *b64url(const unsigned char *p, size_t n)
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

static char *b64url_str(const char *s)
{
	return b64url((const unsigned char *)s, strlen(s));
}

static char *bn_b64url(const BIGNUM *bn, int pad)
{
	int n = pad ? pad : BN_num_bytes(bn);
	unsigned char *buf = xmalloc((size_t)n);
	ck_assert_int_eq(BN_bn2binpad(bn, buf, n), n);
	char *s = b64url(buf, (size_t)n);
	free(buf);
	return s;
}

static unsigned char *sign_pkey(EVP_PKEY *pkey, const char *input, size_t *siglen)
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
static unsigned char *der_to_raw(unsigned char *der, size_t derlen, size_t *siglen)
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
static char *jws(const char *header, const char *payload, const char *alg, const char *secret, EVP_PKEY *pkey)
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
static char *tok(const char *alg, const char *kid, const char *payload, const char *secret, EVP_PKEY *pkey)
{
	char *header = kid ? xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid)
			   : xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	char *t = jws(header, payload, alg, secret, pkey);
	free(header);
	return t;
}

/* Claims for sub "user-42" with the given expiry and the configured audience. */
static char *claims_exp(long exp)
{
	return xasprintf("{\"sub\":\"user-42\",\"aud\":\"" AUD "\",\"iat\":%ld,\"exp\":%ld}", NOW - 10, exp);
}

static char *good_claims(void)
{
	return claims_exp(NOW + 3600);
}

/* ---- fixtures ---- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static cJSON *rsa_jwk(EVP_PKEY *pkey, const char *kid)
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

static cJSON *ec_jwk(EVP_PKEY *pkey, const char *kid)
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
static const char *write_jwks(const char *name, cJSON *keys)
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

static void setup_keys(void)
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

static void teardown_keys(void)
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

static struct auth *make_auth(const char *secret, const char *jwks, const char *aud, long leeway)
{
	struct auth_settings s = { .jwt_secret = secret, .jwks_file = jwks, .audience = aud, .leeway_s = leeway };
	char err[300] = "";
	struct auth *a = auth_new(&s, err, sizeof(err));
	ck_assert_msg(a != NULL, "auth_new: %s", err);
	return a;
}

static struct auth *full_auth(void)
{
	return make_auth(SECRET, jwks_path, AUD, 60);
}

static enum auth_result verify(const struct auth *a, const char *token, char *sub)
{
	why[0] = '\0';
	return auth_verify_jwt(a, token, NOW, sub, AUTH_SUB_MAX, why, sizeof(why));
}

/* Verifies a token and frees it; returns the result. */
static enum auth_result verify_free(const struct auth *a, char *token)
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

/* ---- valid tokens ---- */

START_TEST(test_hs256_ok)
{
	struct auth *a = full_auth();
	char *c = good_claims(), *t = tok("HS256", NULL, c, SECRET, NULL);
	char sub[AUTH_SUB_MAX];

	ck_assert(auth_enabled(a));
	ck_assert_int_eq(verify(a, t, sub), AUTH_OK);
	ck_assert_str_eq(sub, "user-42");
	free(t);
	free(c);
	auth_free(a);
}
END_TEST

START_TEST(test_rs256_ok)
{
	struct auth *a = full_auth();
	char *c = good_claims(), *t = tok("RS256", "ra", c, NULL, rsa_a);
	char sub[AUTH_SUB_MAX];

	ck_assert_int_eq(verify(a, t, sub), AUTH_OK);
	ck_assert_str_eq(sub, "user-42");
	free(t);
	free(c);
	auth_free(a);
}
END_TEST

START_TEST(test_es256_ok)
{
	struct auth *a = make_auth(NULL, jwks_path, NULL, 60);
	char *c = xasprintf("{\"sub\":\"user_2abcDEF\",\"exp\":%ld}", NOW + 60);
	char *t = tok("ES256", "e1", c, NULL, ec_a);
	char sub[AUTH_SUB_MAX];

	ck_assert_int_eq(verify(a, t, sub), AUTH_OK);
	ck_assert_str_eq(sub, "user_2abcDEF");
	free(t);
	/* Without kid every P-256 key is tried. */
	ck_ok(a, tok("ES256", NULL, c, NULL, ec_a));
	free(c);
	auth_free(a);
}
END_TEST

/* ---- timing ---- */

START_TEST(test_expired)
{
	struct auth *a = full_auth();
	char *c = claims_exp(NOW - 61), *t = tok("RS256", "ra", c, NULL, rsa_a);
	char sub[AUTH_SUB_MAX] = "junk";

	ck_assert_int_eq(verify(a, t, sub), AUTH_EXPIRED);
	ck_assert_str_eq(sub, "");
	ck_assert_ptr_nonnull(strstr(why, "expired"));
	free(t);
	free(c);
	c = claims_exp(NOW - 60);
	ck_refused(a, tok("HS256", NULL, c, SECRET, NULL), AUTH_EXPIRED);
	free(c);
	auth_free(a);
}
END_TEST

START_TEST(test_within_leeway)
{
	struct auth *a = full_auth(), *strict = make_auth(SECRET, NULL, AUD, 0);
	char *c = claims_exp(NOW - 59);

	ck_ok(a, tok("HS256", NULL, c, SECRET, NULL));
	ck_refused(strict, tok("HS256", NULL, c, SECRET, NULL), AUTH_EXPIRED);
	free(c);
	c = claims_exp(NOW);
	ck_refused(strict, tok("HS256", NULL, c, SECRET, NULL), AUTH_EXPIRED);
	free(c);
	c = claims_exp(NOW + 1);
	ck_ok(strict, tok("HS256", NULL, c, SECRET, NULL));
	free(c);
	auth_free(a);
	auth_free(strict);
}
END_TEST

START_TEST(test_not_before)
{
	struct auth *a = full_auth();
	char *c = xasprintf("{\"sub\":\"u\",\"aud\":\"" AUD "\",\"exp\":%ld,\"nbf\":%ld}", NOW + 3600, NOW + 120);

	ck_refused(a, tok("HS256", NULL, c, SECRET, NULL), AUTH_INVALID);
	ck_assert_ptr_nonnull(strstr(why, "nbf"));
	free(c);
	c = xasprintf("{\"sub\":\"u\",\"aud\":\"" AUD "\",\"exp\":%ld,\"nbf\":%ld}", NOW + 3600, NOW + 30);
	ck_ok(a, tok("HS256", NULL, c, SECRET, NULL));
	free(c);
	c = xasprintf("{\"sub\":\"u\",\"aud\":\"" AUD "\",\"exp\":%ld,\"iat\":%ld}", NOW + 3600, NOW + 120);
	ck_refused(a, tok("HS256", NULL, c, SECRET, NULL), AUTH_INVALID);
	ck_assert_ptr_nonnull(strstr(why, "iat"));
	free(c);
	auth_free(a);
}
END_TEST

START_TEST(test_time_claims)
{
	struct auth *a = full_auth();
	static const char *const bad[] = { "",
					   ",\"exp\":\"1700003600\"",
					   ",\"exp\":null",
					   ",\"exp\":-5",
					   ",\"exp\":1e300",
					   ",\"exp\":1700003600,\"nbf\":\"x\"",
					   ",\"exp\":1700003600,\"iat\":true" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *c = xasprintf("{\"sub\":\"u\",\"aud\":\"" AUD "\"%s}", bad[i]);
		ck_refused(a, tok("HS256", NULL, c, SECRET, NULL), AUTH_INVALID);
		free(c);
	}
	/* Some issuers write NumericDates as floats. */
	ck_ok(a, tok("HS256", NULL, "{\"sub\":\"u\",\"aud\":\"" AUD "\",\"exp\":1700003600.5,\"iat\":1699999999.25}",
		     SECRET, NULL));
	auth_free(a);
}
END_TEST

/* ---- audience ---- */

START_TEST(test_audience)
{
	struct auth *a = full_auth(), *open = make_auth(SECRET, NULL, NULL, 60);
	static const char *const bad[] = { "\"other\"", "[\"x\",\"y\"]", "[]", "5", "null", "\"authenticated \"" };
	char *c;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		c = xasprintf("{\"sub\":\"u\",\"aud\":%s,\"exp\":%ld}", bad[i], NOW + 60);
		ck_refused(a, tok("HS256", NULL, c, SECRET, NULL), AUTH_INVALID);
		ck_assert_ptr_nonnull(strstr(why, "aud"));
		ck_ok(open, tok("HS256", NULL, c, SECRET, NULL));
		free(c);
	}
	c = xasprintf("{\"sub\":\"u\",\"exp\":%ld}", NOW + 60);
	ck_refused(a, tok("HS256", NULL, c, SECRET, NULL), AUTH_INVALID);
	free(c);
	c = xasprintf("{\"sub\":\"u\",\"aud\":[\"x\",\"" AUD "\"],\"exp\":%ld}", NOW + 60);
	ck_ok(a, tok("RS256", "rb", c, NULL, rsa_b));
	free(c);
	auth_free(a);
	auth_free(open);
}
END_TEST

/* ---- forgeries ---- */

START_TEST(test_wrong_secret)
{
	struct auth *a = full_auth();
	char *c = good_claims();

	ck_refused(a, tok("HS256", NULL, c, "another-secret-that-is-also-32-bytes-long!", NULL), AUTH_INVALID);
	ck_assert_ptr_nonnull(strstr(why, "signature"));
	free(c);
	auth_free(a);
}
END_TEST

START_TEST(test_foreign_keys)
{
	struct auth *a = full_auth();
	char *c = good_claims();

	ck_refused(a, tok("RS256", "ra", c, NULL, rsa_c), AUTH_INVALID);
	ck_refused(a, tok("RS256", NULL, c, NULL, rsa_c), AUTH_INVALID);
	ck_refused(a, tok("ES256", "e1", c, NULL, ec_c), AUTH_INVALID);
	ck_refused(a, tok("ES256", NULL, c, NULL, ec_c), AUTH_INVALID);
	free(c);
	auth_free(a);
}
END_TEST

START_TEST(test_alg_none_and_others)
{
	struct auth *a = full_auth();
	char *c = good_claims(), *h = b64url_str("{\"alg\":\"none\",\"typ\":\"JWT\"}"), *p = b64url_str(c);
	static const char *const algs[] = { "none",  "None",  "hs256", "HS512", "HS384", "RS384",
					    "RS512", "PS256", "ES384", "ES512", "EdDSA", "" };

	/* The classic unsigned token: empty signature part. */
	ck_refused(a, xasprintf("%s.%s.", h, p), AUTH_INVALID);
	ck_refused(a, xasprintf("%s.%s.AAAA", h, p), AUTH_INVALID);
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		char *hdr = xasprintf("{\"alg\":\"%s\"}", algs[i]);
		/* Signed as HS256 with the right secret: only the header's alg is wrong. */
		char *t = jws(hdr, c, "HS256", SECRET, NULL);
		ck_refused(a, t, AUTH_INVALID);
		ck_assert_ptr_nonnull(strstr(why, "alg"));
		free(hdr);
	}
	ck_refused(a, jws("{\"typ\":\"JWT\"}", c, "HS256", SECRET, NULL), AUTH_INVALID);
	ck_refused(a, jws("{\"alg\":256}", c, "HS256", SECRET, NULL), AUTH_INVALID);
	free(h);
	free(p);
	free(c);
	auth_free(a);
}
END_TEST

static char *public_pem(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem;
	long n;

	ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pkey), 1);
	n = BIO_get_mem_data(bio, &data);
	pem = xstrndup(data, (size_t)n);
	BIO_free(bio);
	return pem;
}

START_TEST(test_key_confusion)
{
	struct auth *jwks_only = make_auth(NULL, jwks_path, AUD, 60), *both = full_auth();
	char *c = good_claims(), *pem = public_pem(rsa_a);

	/* HS256 keyed with the RSA public key, as a verifier that reuses its JWKS key would accept. */
	ck_refused(jwks_only, tok("HS256", "ra", c, pem, NULL), AUTH_INVALID);
	ck_refused(jwks_only, tok("HS256", NULL, c, pem, NULL), AUTH_INVALID);
	ck_refused(both, tok("HS256", "ra", c, pem, NULL), AUTH_INVALID);
	/* And an ES256 token naming an RSA key. */
	ck_refused(both, tok("ES256", "ra", c, NULL, ec_a), AUTH_INVALID);
	free(pem);
	free(c);
	auth_free(jwks_only);
	auth_free(both);
}
END_TEST

/* Replaces part idx (0..2) of a token with text. */
static char *splice(const char *token, int idx, const char *text)
{
	const char *d1 = strchr(token, '.'), *d2 = strchr(d1 + 1, '.');
	int hl = (int)(d1 - token), pl = (int)(d2 - d1 - 1);

	if (idx == 0)
		return xasprintf("%s%s", text, d1);
	if (idx == 1)
		return xasprintf("%.*s.%s%s", hl, token, text, d2);
	return xasprintf("%.*s.%.*s.%s", hl, token, pl, d1 + 1, text);
}

START_TEST(test_tampered)
{
	struct auth *a = full_auth();
	char *c = good_claims(), *evil = b64url_str("{\"sub\":\"admin\",\"aud\":\"" AUD "\",\"exp\":1800000000}");
	char *toks[] = { tok("HS256", NULL, c, SECRET, NULL), tok("RS256", "ra", c, NULL, rsa_a),
			 tok("ES256", "e1", c, NULL, ec_a) };

	for (size_t i = 0; i < ARRAY_SIZE(toks); i++) {
		char *t = toks[i], *last = strrchr(t, '.') + 1;

		ck_ok(a, xstrdup(t));
		ck_refused(a, splice(t, 1, evil), AUTH_INVALID);
		/* Flip one signature character; the first keeps the length canonical. */
		last[0] = last[0] == 'A' ? 'B' : 'A';
		ck_refused(a, xstrdup(t), AUTH_INVALID);
		/* Signature truncated or extended. */
		ck_refused(a, splice(t, 2, "AAAA"), AUTH_INVALID);
		free(t);
	}
	free(evil);
	free(c);
	auth_free(a);
}
END_TEST

/* An ES256 token over payload with the signature bytes as given: DER, or raw r || s plus extra bytes. */
static char *es256_with_sig(const char *payload, bool der, size_t extra)
{
	char *h = b64url_str("{\"alg\":\"ES256\",\"kid\":\"e1\"}"), *p = b64url_str(payload);
	char *input = xasprintf("%s.%s", h, p), *s64, *t;
	size_t siglen = 0;
	unsigned char *sig = sign_pkey(ec_a, input, &siglen), *buf;

	if (!der)
		sig = der_to_raw(sig, siglen, &siglen);
	buf = xcalloc(1, siglen + extra);
	memcpy(buf, sig, siglen);
	s64 = b64url(buf, siglen + extra);
	t = xasprintf("%s.%s", input, s64);
	free(h);
	free(p);
	free(input);
	free(s64);
	free(sig);
	free(buf);
	return t;
}

START_TEST(test_es256_signature_form)
{
	struct auth *a = full_auth();
	char *c = good_claims();

	ck_ok(a, es256_with_sig(c, false, 0));
	/* The first 64 bytes are a valid r || s: only the length gives it away. */
	ck_refused(a, es256_with_sig(c, false, 1), AUTH_INVALID);
	ck_refused(a, es256_with_sig(c, false, 32), AUTH_INVALID);
	/* DER is how OpenSSL signs, not how JWS carries ES256. */
	ck_refused(a, es256_with_sig(c, true, 0), AUTH_INVALID);
	free(c);
	auth_free(a);
}
END_TEST

/* ---- malformed tokens ---- */

START_TEST(test_missing)
{
	struct auth *a = full_auth();
	char sub[AUTH_SUB_MAX];

	ck_assert_int_eq(auth_verify_jwt(a, NULL, NOW, sub, sizeof(sub), why, sizeof(why)), AUTH_MISSING);
	ck_assert_int_eq(auth_verify_jwt(a, "", NOW, sub, sizeof(sub), NULL, 0), AUTH_MISSING);
	auth_free(a);
}
END_TEST

START_TEST(test_malformed)
{
	struct auth *a = full_auth();
	char *c = good_claims(), *good = tok("HS256", NULL, c, SECRET, NULL);
	static const char *const shapes[] = { "abc", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.", "..", "...", "a b.c.d" };

	ck_ok(a, xstrdup(good));
	for (size_t i = 0; i < ARRAY_SIZE(shapes); i++)
		ck_refused(a, xstrdup(shapes[i]), AUTH_INVALID);
	/* An extra part after a valid token. */
	ck_refused(a, xasprintf("%s.%s", good, "AAAA"), AUTH_INVALID);
	ck_refused(a, splice(good, 2, "!!!!"), AUTH_INVALID);
	ck_refused(a, splice(good, 0, "e30="), AUTH_INVALID);
	free(good);
	free(c);
	auth_free(a);
}
END_TEST

/*
 * Spellings a lax decoder reads as the same bytes: with them the token would
 * verify, so each refusal below is the decoder's strictness at work.
 */
START_TEST(test_base64url_strict)
{
	struct auth *a = full_auth();
	char *good = NULL, *s, *t;

	/* A valid token whose HS256 signature (43 chars, 2 unused bits) holds a '-' or '_'. */
	for (int i = 0; i < 200 && !good; i++) {
		char *c = xasprintf("{\"sub\":\"u%d\",\"aud\":\"" AUD "\",\"exp\":%ld}", i, NOW + 60);
		good = tok("HS256", NULL, c, SECRET, NULL);
		if (!strpbrk(strrchr(good, '.'), "-_")) {
			free(good);
			good = NULL;
		}
		free(c);
	}
	ck_assert_ptr_nonnull(good);
	ck_ok(a, xstrdup(good));
	s = strrchr(good, '.') + 1;
	ck_assert_uint_eq(strlen(s), 43);
	/* Padding. */
	ck_refused(a, xasprintf("%s=", good), AUTH_INVALID);
	/* The standard alphabet's '+' and '/' for '-' and '_'. */
	t = xstrdup(good);
	for (char *p = strrchr(t, '.'); *p; p++)
		*p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
	ck_refused(a, t, AUTH_INVALID);
	/* Nonzero unused bits in the last character: the same 32 bytes, spelt differently. */
	t = xstrdup(good);
	s = strrchr(t, '.') + 1;
	s[42] = B64URL[(strchr(B64URL, s[42]) - B64URL) | 1];
	ck_refused(a, t, AUTH_INVALID);
	/* A length of 4k+1 cannot be base64url at all. */
	ck_refused(a, xasprintf("%sA", good), AUTH_INVALID);
	free(good);
	auth_free(a);
}
END_TEST

START_TEST(test_not_json)
{
	struct auth *a = full_auth();
	char *c = good_claims();
	static const char *const headers[] = { "not json",
					       "[\"HS256\"]",
					       "\"HS256\"",
					       "{\"alg\":\"HS256\"} x",
					       "{\"alg\":\"HS256\",\"alg\":\"none\"}",
					       "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}" };

	for (size_t i = 0; i < ARRAY_SIZE(headers); i++)
		ck_refused(a, jws(headers[i], c, "HS256", SECRET, NULL), AUTH_INVALID);
	/* Well signed, but the payload is not an object, or repeats a claim. */
	ck_refused(a, jws("{\"alg\":\"HS256\"}", "not json", "HS256", SECRET, NULL), AUTH_INVALID);
	ck_refused(a, jws("{\"alg\":\"HS256\"}", "[1]", "HS256", SECRET, NULL), AUTH_INVALID);
	ck_refused(a,
		   jws("{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"sub\":\"b\",\"aud\":\"" AUD "\",\"exp\":1800000000}",
		       "HS256", SECRET, NULL),
		   AUTH_INVALID);
	free(c);
	auth_free(a);
}
END_TEST

START_TEST(test_huge_token)
{
	struct auth *a = full_auth();
	size_t n = AUTH_TOKEN_MAX + 100;
	char *pad = xmalloc(n + 1), *c, *t;

	memset(pad, 'x', n);
	pad[n] = '\0';
	c = xasprintf("{\"sub\":\"u\",\"aud\":\"" AUD "\",\"exp\":%ld,\"pad\":\"%s\"}", NOW + 60, pad);
	t = tok("HS256", NULL, c, SECRET, NULL);
	ck_assert_uint_gt(strlen(t), AUTH_TOKEN_MAX);
	ck_refused(a, t, AUTH_INVALID);
	ck_assert_msg(strstr(why, "longer") != NULL, "why: %s", why);
	free(c);
	/* A large token under the limit still passes. */
	pad[5000] = '\0';
	c = xasprintf("{\"sub\":\"u\",\"aud\":\"" AUD "\",\"exp\":%ld,\"pad\":\"%s\"}", NOW + 60, pad);
	ck_ok(a, tok("HS256", NULL, c, SECRET, NULL));
	free(c);
	free(pad);
	auth_free(a);
}
END_TEST

/* ---- sub ---- */

START_TEST(test_sub)
{
	struct auth *a = full_auth();
	/* Absent, empty, not a string, a space, a control, non-ASCII, and an escaped NUL cJSON would cut at. */
	static const char *const bad[] = { "",
					   ",\"sub\":\"\"",
					   ",\"sub\":5",
					   ",\"sub\":null",
					   ",\"sub\":\"a b\"",
					   ",\"sub\":\"a\\nb\"",
					   ",\"sub\":\"caf\\u00e9\"",
					   ",\"sub\":\"a\\u0000b\"" };
	char big[300], sub[AUTH_SUB_MAX], small[8];
	char *c, *t;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		c = xasprintf("{\"aud\":\"" AUD "\",\"exp\":%ld%s}", NOW + 60, bad[i]);
		ck_refused(a, tok("HS256", NULL, c, SECRET, NULL), AUTH_INVALID);
		free(c);
	}
	/* The longest sub fits; one more byte is refused, never truncated. */
	memset(big, 'u', sizeof(big));
	big[AUTH_SUB_MAX - 1] = '\0';
	c = xasprintf("{\"sub\":\"%s\",\"aud\":\"" AUD "\",\"exp\":%ld}", big, NOW + 60);
	t = tok("HS256", NULL, c, SECRET, NULL);
	ck_assert_int_eq(verify(a, t, sub), AUTH_OK);
	ck_assert_str_eq(sub, big);
	ck_assert_int_eq(auth_verify_jwt(a, t, NOW, small, sizeof(small), why, sizeof(why)), AUTH_INVALID);
	ck_assert_str_eq(small, "");
	free(t);
	free(c);
	big[AUTH_SUB_MAX - 1] = 'u';
	big[AUTH_SUB_MAX] = '\0';
	c = xasprintf("{\"sub\":\"%s\",\"aud\":\"" AUD "\",\"exp\":%ld}", big, NOW + 60);
	ck_refused(a, tok("HS256", NULL, c, SECRET, NULL), AUTH_INVALID);
	free(c);
	auth_free(a);
}
END_TEST

/* ---- kid selection ---- */

START_TEST(test_kid_selection)
{
	struct auth *a = full_auth();
	char *c = good_claims();

	ck_ok(a, tok("RS256", "rb", c, NULL, rsa_b));
	/* Without kid each RSA key is tried, so the second key still verifies. */
	ck_ok(a, tok("RS256", NULL, c, NULL, rsa_b));
	/* A kid names one key: a valid signature by another listed key does not count. */
	ck_refused(a, tok("RS256", "ra", c, NULL, rsa_b), AUTH_INVALID);
	ck_refused(a, tok("RS256", "rb", c, NULL, rsa_a), AUTH_INVALID);
	ck_refused(a, tok("RS256", "zz-unknown", c, NULL, rsa_a), AUTH_INVALID);
	ck_assert_ptr_nonnull(strstr(why, "zz-unknown"));
	/* The EC key's kid does not make an RS256 token acceptable. */
	ck_refused(a, tok("RS256", "e1", c, NULL, rsa_a), AUTH_INVALID);
	ck_refused(a, jws("{\"alg\":\"RS256\",\"kid\":7}", c, "RS256", NULL, rsa_a), AUTH_INVALID);
	free(c);
	auth_free(a);
}
END_TEST

/* ---- settings and JWKS files ---- */

START_TEST(test_settings)
{
	struct auth_settings s = { .jwt_secret = "short", .leeway_s = 60 };
	char err[300] = "";
	struct auth *a;
	char *c = good_claims();

	ck_assert_ptr_null(auth_new(&s, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "32"));
	s = (struct auth_settings){ .jwt_secret = SECRET, .leeway_s = -1 };
	err[0] = '\0';
	ck_assert_ptr_null(auth_new(&s, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "leeway"));
	/* Nothing configured: a valid object that accepts no JWT. */
	a = make_auth(NULL, "", "", 60);
	ck_assert(!auth_enabled(a));
	ck_assert(!auth_enabled(NULL));
	ck_refused(a, tok("HS256", NULL, c, SECRET, NULL), AUTH_INVALID);
	auth_free(a);
	auth_free(NULL);
	/* HS256 only: RS256 tokens have no key. */
	a = make_auth(SECRET, NULL, NULL, 60);
	ck_assert(auth_enabled(a));
	ck_refused(a, tok("RS256", "ra", c, NULL, rsa_a), AUTH_INVALID);
	auth_free(a);
	free(c);
}
END_TEST

static void jwks_refused(const char *text, const char *expect)
{
	char path[300], err[300] = "";
	struct auth_settings s = { .jwks_file = path, .leeway_s = 60 };
	struct auth *a;

	snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
	write_file(path, text);
	a = auth_new(&s, err, sizeof(err));
	ck_assert_msg(a == NULL, "accepted %s", text);
	ck_assert_msg(strstr(err, expect) != NULL, "error '%s' lacks '%s'", err, expect);
	unlink(path);
}

/* A JWK of key as text with member name set to value (a JSON text), or removed when value is NULL. */
static char *jwk_with(cJSON *k, const char *name, const char *value)
{
	cJSON *keys = cJSON_CreateArray(), *root = cJSON_CreateObject();
	char *text;

	cJSON_DeleteItemFromObjectCaseSensitive(k, name);
	if (value)
		cJSON_AddItemToObject(k, name, cJSON_Parse(value));
	cJSON_AddItemToArray(keys, k);
	cJSON_AddItemToObject(root, "keys", keys);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

START_TEST(test_jwks_bad_files)
{
	char err[300] = "";
	struct auth_settings s = { .jwks_file = "/nonexistent/jwks.json", .leeway_s = 60 };
	EVP_PKEY *small = EVP_RSA_gen(1024);
	static const char *const texts[][2] = {
		{ "", "not JSON" },
		{ "{\"keys\":", "not JSON" },
		{ "[]", "not JSON" },
		{ "{\"keys\":{}}", "not JSON" },
		{ "{\"keys\":[]}", "no RS256" },
		{ "{\"keys\":[5]}", "keys[0]" },
		{ "{\"keys\":[{\"n\":\"AQAB\"}]}", "kty" },
		{ "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}]}", "no RS256" },
		{ "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AAAA\",\"y\":\"AAAA\"}]}", "no RS256" },
		{ "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\"}]}", "n and e" },
		{ "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"a+b/\",\"e\":\"AQAB\"}]}", "n and e" },
		{ "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}]}", "32 bytes" },
	};
	cJSON *k;
	char *text, *x;

	ck_assert_ptr_null(auth_new(&s, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/jwks.json"));
	s.jwks_file = tmpdir; /* a directory */
	ck_assert_ptr_null(auth_new(&s, err, sizeof(err)));
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		jwks_refused(texts[i][0], texts[i][1]);

	ck_assert_ptr_nonnull(small);
	text = jwk_with(rsa_jwk(small, "weak"), "kid", "\"weak\"");
	jwks_refused(text, "1024 bits");
	free(text);
	EVP_PKEY_free(small);
	text = jwk_with(rsa_jwk(rsa_a, "ra"), "d", "\"AQAB\"");
	jwks_refused(text, "private");
	free(text);
	text = jwk_with(rsa_jwk(rsa_a, NULL), "kid", "7");
	jwks_refused(text, "kid");
	free(text);
	text = jwk_with(rsa_jwk(rsa_a, NULL), "e", "\"AAAA\""); /* e = 0 */
	jwks_refused(text, "OpenSSL");
	free(text);
	/* A point off the curve: y replaced by x. */
	k = ec_jwk(ec_a, "e1");
	x = xasprintf("\"%s\"", cJSON_GetObjectItem(k, "x")->valuestring);
	text = jwk_with(k, "y", x);
	jwks_refused(text, "not a point");
	free(text);
	free(x);
}
END_TEST

START_TEST(test_jwks_skips_unusable)
{
	cJSON *keys = cJSON_CreateArray(), *enc = rsa_jwk(rsa_a, "enc"), *rs512 = rsa_jwk(rsa_a, "rs512");
	struct auth *a;
	char *c = good_claims();

	cJSON_ReplaceItemInObjectCaseSensitive(enc, "use", cJSON_CreateString("enc"));
	cJSON_ReplaceItemInObjectCaseSensitive(rs512, "alg", cJSON_CreateString("RS512"));
	cJSON_AddItemToArray(keys, enc);
	cJSON_AddItemToArray(keys, rs512);
	cJSON_AddItemToArray(keys, cJSON_Parse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}"));
	cJSON_AddItemToArray(keys, rsa_jwk(rsa_b, NULL));
	a = make_auth(NULL, write_jwks("mixed.json", keys), AUD, 60);
	ck_ok(a, tok("RS256", NULL, c, NULL, rsa_b));
	/* The same RSA key listed for encryption or RS512 is not used for RS256. */
	ck_refused(a, tok("RS256", "enc", c, NULL, rsa_a), AUTH_INVALID);
	ck_refused(a, tok("RS256", "rs512", c, NULL, rsa_a), AUTH_INVALID);
	ck_refused(a, tok("RS256", NULL, c, NULL, rsa_a), AUTH_INVALID);
	free(c);
	auth_free(a);
}
END_TEST

/* ---- bearer header ---- */

START_TEST(test_bearer)
{
	ck_assert_str_eq(auth_bearer_token("Bearer abc.def.ghi"), "abc.def.ghi");
	ck_assert_str_eq(auth_bearer_token("bearer   rk_x"), "rk_x");
	ck_assert_str_eq(auth_bearer_token("BEARER\tt"), "t");
	ck_assert_ptr_null(auth_bearer_token(NULL));
	ck_assert_ptr_null(auth_bearer_token("Basic dXNlcjpwYXNz"));
	ck_assert_ptr_null(auth_bearer_token("Bearer"));
	ck_assert_ptr_null(auth_bearer_token("Bearer "));
	ck_assert_ptr_null(auth_bearer_token("Bearerabc"));
	ck_assert_ptr_null(auth_bearer_token("Bearer a b"));
	ck_assert(auth_is_api_key("rk_abcdefgh_x"));
	ck_assert(!auth_is_api_key("eyJhbGciOi.x.y"));
	ck_assert(!auth_is_api_key(NULL));
}
END_TEST

/* ---- API keys ---- */

START_TEST(test_api_key_roundtrip)
{
	char key[AUTH_KEY_MAX], key2[AUTH_KEY_MAX], prefix[AUTH_KEY_PREFIX_LEN + 1], prefix2[16], hex[65];

	auth_api_key_mint(key, sizeof(key), prefix, sizeof(prefix));
	auth_api_key_mint(key2, sizeof(key2), prefix2, sizeof(prefix2));
	ck_assert_str_ne(key, key2);
	ck_assert_uint_eq(strlen(key), 3 + AUTH_KEY_PREFIX_LEN + 1 + AUTH_KEY_MINT_SECRET_LEN);
	ck_assert_int_eq(strncmp(key, "rk_", 3), 0);
	ck_assert_uint_eq(strlen(prefix), AUTH_KEY_PREFIX_LEN);
	ck_assert_int_eq(strncmp(key + 3, prefix, AUTH_KEY_PREFIX_LEN), 0);
	ck_assert(auth_is_api_key(key));

	char split[AUTH_KEY_PREFIX_LEN + 1];
	ck_assert_int_eq(auth_api_key_split(key, split, sizeof(split)), 0);
	ck_assert_str_eq(split, prefix);
	auth_api_key_hash(key, hex);
	ck_assert_uint_eq(strlen(hex), 64);
	ck_assert_uint_eq(strspn(hex, "0123456789abcdef"), 64);
	ck_assert(auth_api_key_matches(key, hex));
	ck_assert(!auth_api_key_matches(key2, hex));
}
END_TEST

START_TEST(test_api_key_hash_vector)
{
	static const char key[] = "rk_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789";
	static const char want[] = "88210a9fdd30883c13c239e402a1cfe151c17c87c9f8a4eac0853c6aae6ff1be";
	char hex[65], wrong[65];

	auth_api_key_hash(key, hex);
	ck_assert_str_eq(hex, want);
	ck_assert(auth_api_key_matches(key, want));
	/* One hex digit off, upper case, short, or missing. */
	str_copy(wrong, want, sizeof(wrong));
	wrong[63] = wrong[63] == '0' ? '1' : '0';
	ck_assert(!auth_api_key_matches(key, wrong));
	str_copy(wrong, want, sizeof(wrong));
	for (char *p = wrong; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
	ck_assert(!auth_api_key_matches(key, wrong));
	ck_assert(!auth_api_key_matches(key, "88210a9f"));
	ck_assert(!auth_api_key_matches(key, NULL));
	/* A key differing in its last character. */
	ck_assert(!auth_api_key_matches("rk_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456788", want));
}
END_TEST

START_TEST(test_api_key_malformed)
{
	static const char *const bad[] = {
		"",
		"rk_",
		"rk_abcd1234_",
		"rk_abcd1234_short",
		"rk_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcde",  /* 31 secret chars */
		"rk_ABCD1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", /* upper-case prefix */
		"rk_abcd123_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0", /* 7-char prefix */
		"rk_abcd12345ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", /* no separator */
		"xx_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
		"RK_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
		"rk_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcde-",
		"rk_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef ",
		"rk_abcd_234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
	};
	char prefix[AUTH_KEY_PREFIX_LEN + 1], hex[65], big[200];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(auth_api_key_split(bad[i], prefix, sizeof(prefix)) == -1, "split '%s'", bad[i]);
		/* Even with its own hash on file a malformed key is not accepted. */
		auth_api_key_hash(bad[i], hex);
		ck_assert_msg(!auth_api_key_matches(bad[i], hex), "matched '%s'", bad[i]);
	}
	ck_assert_int_eq(auth_api_key_split(NULL, prefix, sizeof(prefix)), -1);
	/* Shortest and longest secrets; one past the longest. */
	ck_assert_int_eq(auth_api_key_split("rk_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", prefix, sizeof(prefix)), 0);
	ck_assert_str_eq(prefix, "abcd1234");
	ck_assert_int_eq(auth_api_key_split("rk_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", prefix, 8), -1);
	memcpy(big, "rk_abcd1234_", 12);
	memset(big + 12, 'Z', AUTH_KEY_SECRET_MAX);
	big[12 + AUTH_KEY_SECRET_MAX] = '\0';
	ck_assert_int_eq(auth_api_key_split(big, prefix, sizeof(prefix)), 0);
	big[12 + AUTH_KEY_SECRET_MAX] = 'Z';
	big[13 + AUTH_KEY_SECRET_MAX] = '\0';
	ck_assert_int_eq(auth_api_key_split(big, prefix, sizeof(prefix)), -1);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup_keys, teardown_keys);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hs256_ok);
	tcase_add_test(tc, test_rs256_ok);
	tcase_add_test(tc, test_es256_ok);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_within_leeway);
	tcase_add_test(tc, test_not_before);
	tcase_add_test(tc, test_time_claims);
	tcase_add_test(tc, test_audience);
	tcase_add_test(tc, test_wrong_secret);
	tcase_add_test(tc, test_foreign_keys);
	tcase_add_test(tc, test_alg_none_and_others);
	tcase_add_test(tc, test_key_confusion);
	tcase_add_test(tc, test_tampered);
	tcase_add_test(tc, test_es256_signature_form);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_base64url_strict);
	tcase_add_test(tc, test_not_json);
	tcase_add_test(tc, test_huge_token);
	tcase_add_test(tc, test_sub);
	tcase_add_test(tc, test_kid_selection);
	tcase_add_test(tc, test_settings);
	tcase_add_test(tc, test_jwks_bad_files);
	tcase_add_test(tc, test_jwks_skips_unusable);
	tcase_add_test(tc, test_bearer);
	tcase_add_test(tc, test_api_key_roundtrip);
	tcase_add_test(tc, test_api_key_hash_vector);
	tcase_add_test(tc, test_api_key_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(auth_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
