/*
 * Unit tests for stream tokens: a token passes for its job until it expires
 * and carries its owner; another job, another secret, any altered byte, a
 * stretched expiry and malformed text are refused.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "stream_token.h"
#include "banned.h"

#define SECRET "test-url-secret"
#define JOB "0a1b2c3d-0000-4000-8000-000000000001"
#define OTHER_JOB "0a1b2c3d-0000-4000-8000-000000000002"
#define NOW ((time_t)1700000000)

static int check_token(const char *secret, const char *token, const char *job, time_t now, char *owner, char *why)
{
	return stream_token_check(secret, token, job, now, owner, 64, why, 128);
}

START_TEST(test_round_trip)
{
	char owner[64], why[128];
	char *t = stream_token_make(SECRET, JOB, "user\n2.x", NOW + 300);
	ck_assert_int_eq(check_token(SECRET, t, JOB, NOW, owner, why), 0);
	ck_assert_str_eq(owner, "user\n2.x");
	ck_assert_int_eq(check_token(SECRET, t, JOB, NOW + 300, owner, why), 0);
	ck_assert_int_eq(check_token(SECRET, t, JOB, NOW + 301, owner, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "expired"));
	free(t);
}
END_TEST

START_TEST(test_refusals)
{
	char owner[64], why[128];
	char *t = stream_token_make(SECRET, JOB, "alice", NOW + 60);
	ck_assert_int_eq(check_token(SECRET, t, OTHER_JOB, NOW, owner, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "not for this job"));
	ck_assert_int_eq(check_token("another-secret", t, JOB, NOW, owner, why), -1);
	for (size_t i = 0; t[i]; i++) {
		char *bad = strdup(t);
		bad[i] = bad[i] == '1' ? '2' : '1';
		ck_assert_msg(check_token(SECRET, bad, JOB, NOW, owner, why) == -1, "byte %zu altered passed", i);
		free(bad);
	}
	free(t);
	t = stream_token_make(SECRET, JOB, "alice", NOW + STREAM_TOKEN_TTL_MAX + STREAM_TOKEN_SKEW_S + 1);
	ck_assert_int_eq(check_token(SECRET, t, JOB, NOW, owner, why), -1);
	free(t);
	static const char *const malformed[] = {
		"", ".", "..", "1.616c696365.", "x.616c696365.00", "1.zz.00", "1.616c69636.00", "1.00.0000"
	};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(*malformed); i++) {
		ck_assert_int_eq(check_token(SECRET, malformed[i], JOB, NOW, owner, why), -1);
		ck_assert_ptr_nonnull(strstr(why, "malformed"));
	}
}
END_TEST

START_TEST(test_owner_too_long)
{
	char owner[8], why[128];
	char *t = stream_token_make(SECRET, JOB, "a-rather-long-owner", NOW + 60);
	ck_assert_int_eq(stream_token_check(SECRET, t, JOB, NOW, owner, sizeof(owner), why, sizeof(why)), -1);
	free(t);
}
END_TEST

static Suite *stream_token_suite(void)
{
	Suite *s = suite_create("stream_token");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_owner_too_long);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stream_token_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
