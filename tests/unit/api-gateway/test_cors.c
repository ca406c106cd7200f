/*
 * Unit tests for the CORS origin list: origins parse exactly and match as
 * exact strings; '*' is refused beside credentials; anything that is not an
 * origin (a path, no scheme, another scheme) stops the gateway.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cors.h"
#include "banned.h"

START_TEST(test_cors_origins)
{
	struct cors *c;
	char err[256];
	ck_assert_int_eq(cors_new(NULL, true, &c, err, sizeof(err)), 0);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(cors_new(" , ", true, &c, err, sizeof(err)), 0);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(cors_new("https://app.example.com, http://localhost:3000", true, &c, err, sizeof(err)), 0);
	ck_assert(cors_allows(c, "https://app.example.com"));
	ck_assert(cors_allows(c, "http://localhost:3000"));
	ck_assert(!cors_allows(c, "http://localhost:3001"));
	ck_assert(!cors_allows(c, "https://app.example.com.evil.org"));
	ck_assert(!cors_allows(c, NULL));
	cors_free(c);
	ck_assert_int_eq(cors_new("*", true, &c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "REEL_CORS_ORIGINS"));
	ck_assert_int_eq(cors_new("*", false, &c, err, sizeof(err)), 0);
	ck_assert(cors_allows(c, "https://anything.example"));
	cors_free(c);
	static const char *const bad[] = { "app.example.com", "https://app.example.com/",
					   "https://a.com/x", "ftp://a.com",
					   "https://",        "https://a.com:" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(cors_new(bad[i], false, &c, err, sizeof(err)) == -1, "%s accepted", bad[i]);
}
END_TEST

static Suite *cors_suite(void)
{
	Suite *s = suite_create("cors");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_cors_origins);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cors_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
