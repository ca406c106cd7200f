/*
 * Unit tests for gateway authentication, tokens that pass or fail on their
 * claims: HS256, RS256 and ES256 accepted, claim timing with leeway,
 * audience, sub, kid selection, and the bearer header.
 */
#include "auth_fixture.h"

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

static Suite *auth_jwt_suite(void)
{
	Suite *s = suite_create("auth_jwt");
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
	tcase_add_test(tc, test_sub);
	tcase_add_test(tc, test_kid_selection);
	tcase_add_test(tc, test_bearer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_suite(auth_jwt_suite());
}
