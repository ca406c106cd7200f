/*
 * Unit tests for the per-user token buckets: the burst, the refill rate,
 * Retry-After rounding, users kept apart, a clock that steps back, and the
 * sweep that forgets full buckets.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "ratelimit.h"
#include "banned.h"

START_TEST(test_burst_then_refill)
{
	struct ratelimit *rl = ratelimit_new(2, 5);
	long wait = 0;
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(ratelimit_take(rl, "alice", 1000, &wait), 0);
	ck_assert_int_eq(ratelimit_take(rl, "alice", 1000, &wait), -1);
	ck_assert_int_eq(wait, 1); /* half a second at 2/s, rounded up */
	ck_assert_int_eq(ratelimit_take(rl, "alice", 1400, &wait), -1);
	ck_assert_int_eq(ratelimit_take(rl, "alice", 1500, &wait), 0); /* one token after 500 ms */
	ck_assert_int_eq(ratelimit_take(rl, "alice", 1500, &wait), -1);
	/* a long pause refills only up to the burst */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(ratelimit_take(rl, "alice", 100000, &wait), 0);
	ck_assert_int_eq(ratelimit_take(rl, "alice", 100000, &wait), -1);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_slow_rate_retry_after)
{
	struct ratelimit *rl = ratelimit_new(0.1, 1); /* one request per ten seconds */
	long wait = 0;
	ck_assert_int_eq(ratelimit_take(rl, "bob", 0, &wait), 0);
	ck_assert_int_eq(ratelimit_take(rl, "bob", 0, &wait), -1);
	ck_assert_int_eq(wait, 10);
	ck_assert_int_eq(ratelimit_take(rl, "bob", 4000, &wait), -1);
	ck_assert_int_eq(wait, 6);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_users_apart)
{
	struct ratelimit *rl = ratelimit_new(1, 1);
	long wait;
	char user[32];
	ck_assert_int_eq(ratelimit_take(rl, "carol", 0, &wait), 0);
	ck_assert_int_eq(ratelimit_take(rl, "carol", 0, &wait), -1);
	ck_assert_int_eq(ratelimit_take(rl, "dave", 0, &wait), 0);
	/* many users: the table grows and each keeps its own bucket */
	for (int i = 0; i < 5000; i++) {
		snprintf(user, sizeof(user), "user-%d", i);
		ck_assert_int_eq(ratelimit_take(rl, user, 0, &wait), 0);
	}
	ck_assert_uint_eq(ratelimit_size(rl), 5002);
	for (int i = 0; i < 5000; i += 499) {
		snprintf(user, sizeof(user), "user-%d", i);
		ck_assert_int_eq(ratelimit_take(rl, user, 0, &wait), -1);
	}
	ck_assert_int_eq(ratelimit_take(rl, "carol", 0, &wait), -1);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_clock_back_and_sweep)
{
	struct ratelimit *rl = ratelimit_new(1, 2);
	long wait;
	ck_assert_int_eq(ratelimit_take(rl, "eve", 5000, &wait), 0);
	ck_assert_int_eq(ratelimit_take(rl, "eve", 5000, &wait), 0);
	ck_assert_int_eq(ratelimit_take(rl, "eve", 3000, &wait), -1); /* time going back adds nothing */
	ck_assert_int_eq(ratelimit_take(rl, "frank", 3000, &wait), 0);
	ratelimit_sweep(rl, 3500);
	ck_assert_uint_eq(ratelimit_size(rl), 2);
	ratelimit_sweep(rl, 60000);
	ck_assert_uint_eq(ratelimit_size(rl), 0);
	ck_assert_int_eq(ratelimit_take(rl, "eve", 60000, &wait), 0);
	ratelimit_free(rl);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_burst_then_refill);
	tcase_add_test(tc, test_slow_rate_retry_after);
	tcase_add_test(tc, test_users_apart);
	tcase_add_test(tc, test_clock_back_and_sweep);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
