/*
 * Unit tests for gateway authentication, its keys: settings, JWKS files
 * refused or partly skipped, and rk_ API keys (minting, hashing, malformed).
 */
#include "auth_fixture.h"

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

static Suite *auth_keys_suite(void)
{
	Suite *s = suite_create("auth_keys");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup_keys, teardown_keys);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_settings);
	tcase_add_test(tc, test_jwks_bad_files);
	tcase_add_test(tc, test_jwks_skips_unusable);
	tcase_add_test(tc, test_api_key_roundtrip);
	tcase_add_test(tc, test_api_key_hash_vector);
	tcase_add_test(tc, test_api_key_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_suite(auth_keys_suite());
}
