/*
 * Unit tests for common/retry: backoff bounds and growth, the attempt limit
 * from the environment, Retry-After in seconds and as an HTTP date, and
 * which statuses count as transient.
 */
#include <check.h>
#include <stdlib.h>

#include "retry.h"
#include "banned.h"

START_TEST(test_policy_from_env)
{
	struct retry_policy p;
	char err[128];
	unsetenv("REEL_PARSE_MAX_ATTEMPTS");
	ck_assert_int_eq(retry_policy_init(&p, "parse", err, sizeof(err)), 0);
	ck_assert_int_eq(p.max_attempts, 5);
	setenv("REEL_PARSE_MAX_ATTEMPTS", "2", 1);
	ck_assert_int_eq(retry_policy_init(&p, "parse", err, sizeof(err)), 0);
	ck_assert_int_eq(p.max_attempts, 2);
	ck_assert(retry_allowed(&p, 1));
	ck_assert(!retry_allowed(&p, 2));
	setenv("REEL_PARSE_MAX_ATTEMPTS", "0", 1);
	ck_assert_int_eq(retry_policy_init(&p, "parse", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "REEL_PARSE_MAX_ATTEMPTS"));
	setenv("REEL_PARSE_MAX_ATTEMPTS", "3x", 1);
	ck_assert_int_eq(retry_policy_init(&p, "parse", err, sizeof(err)), -1);
	unsetenv("REEL_PARSE_MAX_ATTEMPTS");
}
END_TEST

START_TEST(test_backoff_bounds)
{
	struct retry_policy p = { 10, 100, 1000, 60000 };
	uint64_t max_seen[6] = { 0 };
	for (int round = 0; round < 2000; round++)
		for (long a = 1; a <= 5; a++) {
			uint64_t d = retry_backoff_ms(&p, a);
			uint64_t ceiling = 100u << (a - 1);
			ck_assert_uint_le(d, ceiling > 1000 ? 1000 : ceiling);
			if (d > max_seen[a])
				max_seen[a] = d;
		}
	/* Full jitter spreads over the whole range: the ceiling grows per attempt. */
	ck_assert_uint_gt(max_seen[1], 50);
	ck_assert_uint_gt(max_seen[3], 200);
	ck_assert_uint_gt(max_seen[5], 500);
	ck_assert_uint_le(retry_backoff_ms(&p, 60), 1000);
}
END_TEST

START_TEST(test_retry_after_values)
{
	time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
	ck_assert_int_eq(retry_after_ms("3", now), 3000);
	ck_assert_int_eq(retry_after_ms(" 0.5", now), 500);
	ck_assert_int_eq(retry_after_ms("Tue, 14 Nov 2023 22:13:30 GMT", now), 10000);
	ck_assert_int_eq(retry_after_ms("Tue, 14 Nov 2023 22:13:00 GMT", now), 0);
	ck_assert_int_eq(retry_after_ms(NULL, now), -1);
	ck_assert_int_eq(retry_after_ms("soon", now), -1);
	ck_assert_int_eq(retry_after_ms("5 s", now), -1);
}
END_TEST

START_TEST(test_delay_honours_retry_after)
{
	struct retry_policy p = { 5, 10, 20, 4000 };
	for (int i = 0; i < 50; i++) {
		ck_assert_uint_eq(retry_delay_ms(&p, 1, retry_after_ms("2", time(NULL))), 2000);
		ck_assert_uint_eq(retry_delay_ms(&p, 1, 3600000), 4000); /* capped */
		ck_assert_uint_le(retry_delay_ms(&p, 1, 0), 10);
		ck_assert_uint_le(retry_delay_ms(&p, 1, retry_after_ms("bogus", time(NULL))), 10);
	}
}
END_TEST

START_TEST(test_transient_statuses)
{
	const int yes[] = { 408, 409, 425, 429, 500, 502, 503, 504, 529 };
	const int no[] = { 200, 400, 401, 403, 404, 413, 422 };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(retry_status_transient(yes[i]), "%d", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!retry_status_transient(no[i]), "%d", no[i]);
}
END_TEST

static Suite *retry_suite(void)
{
	Suite *s = suite_create("retry");
	TCase *tc = tcase_create("policy");
	tcase_add_test(tc, test_policy_from_env);
	tcase_add_test(tc, test_backoff_bounds);
	tcase_add_test(tc, test_retry_after_values);
	tcase_add_test(tc, test_delay_honours_retry_after);
	tcase_add_test(tc, test_transient_statuses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(retry_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
