/*
 * Unit tests for gateway authentication, the attacks a verifier must refuse:
 * wrong secrets and foreign keys, alg none and other algorithms, key
 * confusion, tampering, ES256 signature forms, and malformed or oversized
 * tokens.
 */
#include "auth_fixture.h"

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

static Suite *auth_forgery_suite(void)
{
	Suite *s = suite_create("auth_forgery");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup_keys, teardown_keys);
	tcase_set_timeout(tc, 60);
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
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_suite(auth_forgery_suite());
}
