/*
 * Unit tests for the cache of rendered job resources: hits for the owner
 * only, entries dropped per job and all at once, the deadline and expiry in
 * deadline order, and the memory bound with least-recently-used eviction.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_cache.h"
#include "banned.h"

#define JOB_A "0b7e3c1a-5d2f-4a6b-9c8d-1e2f3a4b5c6d"
#define JOB_B "1c8f4d2b-6e3a-4b7c-8d9e-2f3a4b5c6d7e"

static const char *get(struct job_cache *c, const char *id, const char *owner, uint64_t now)
{
	size_t len = 0;
	const char *body = job_cache_get(c, id, owner, now, &len);
	if (body)
		ck_assert_uint_eq(len, strlen(body));
	return body;
}

START_TEST(test_hit_for_owner_only)
{
	struct job_cache *c = job_cache_new(1 << 20, 1000);
	ck_assert_ptr_null(get(c, JOB_A, "alice", 0));
	job_cache_put(c, JOB_A, "alice", "{\"status\":\"queued\"}", 19, 0);
	ck_assert_str_eq(get(c, JOB_A, "alice", 10), "{\"status\":\"queued\"}");
	/* another user never sees it, and asking does not remove it for the owner */
	ck_assert_ptr_null(get(c, JOB_A, "mallory", 10));
	ck_assert_ptr_null(get(c, JOB_A, "", 10));
	ck_assert_ptr_null(get(c, JOB_A, "alicex", 10));
	ck_assert_str_eq(get(c, JOB_A, "alice", 20), "{\"status\":\"queued\"}");
	ck_assert_ptr_null(get(c, JOB_B, "alice", 20));
	/* a put replaces the job's entry (and its owner) */
	job_cache_put(c, JOB_A, "bob", "{\"status\":\"parsing\"}", 20, 30);
	ck_assert_ptr_null(get(c, JOB_A, "alice", 40));
	ck_assert_str_eq(get(c, JOB_A, "bob", 40), "{\"status\":\"parsing\"}");
	ck_assert_uint_eq(job_cache_count(c), 1);
	job_cache_free(c);
}
END_TEST

START_TEST(test_drop_and_clear)
{
	struct job_cache *c = job_cache_new(1 << 20, 1000);
	job_cache_put(c, JOB_A, "alice", "a", 1, 0);
	job_cache_put(c, JOB_B, "alice", "b", 1, 0);
	job_cache_drop(c, JOB_A);
	ck_assert_ptr_null(get(c, JOB_A, "alice", 1));
	ck_assert_str_eq(get(c, JOB_B, "alice", 1), "b"); /* only the job named */
	job_cache_drop(c, JOB_A);                         /* again: nothing to do */
	job_cache_drop(c, "not-cached");
	ck_assert_uint_eq(job_cache_count(c), 1);
	job_cache_put(c, JOB_A, "alice", "a2", 2, 2);
	job_cache_clear(c);
	ck_assert_uint_eq(job_cache_count(c), 0);
	ck_assert_uint_eq(job_cache_bytes(c), 0);
	ck_assert_ptr_null(get(c, JOB_A, "alice", 3));
	ck_assert_ptr_null(get(c, JOB_B, "alice", 3));
	job_cache_free(c);
}
END_TEST

START_TEST(test_deadline)
{
	struct job_cache *c = job_cache_new(1 << 20, 1000);
	job_cache_put(c, JOB_A, "alice", "a", 1, 5000);
	ck_assert_str_eq(get(c, JOB_A, "alice", 5999), "a");
	ck_assert_ptr_null(get(c, JOB_A, "alice", 6000)); /* at the deadline it is gone */
	ck_assert_uint_eq(job_cache_count(c), 0);
	/* a hit does not extend an entry's life */
	job_cache_put(c, JOB_B, "alice", "b", 1, 7000);
	ck_assert_str_eq(get(c, JOB_B, "alice", 7900), "b");
	ck_assert_ptr_null(get(c, JOB_B, "alice", 8000));
	job_cache_free(c);
	/* expire forgets entries in deadline order; a put again starts a new life */
	c = job_cache_new(1 << 20, 1000);
	job_cache_put(c, JOB_A, "alice", "a", 1, 0);
	job_cache_put(c, JOB_B, "alice", "b", 1, 100);
	job_cache_put(c, "job-c", "alice", "c", 1, 200);
	job_cache_put(c, JOB_A, "alice", "a2", 2, 300);
	ck_assert_uint_eq(job_cache_expire(c, 1099), 3);
	ck_assert_uint_eq(job_cache_expire(c, 1100), 2); /* B went */
	ck_assert_ptr_null(get(c, JOB_B, "alice", 1100));
	ck_assert_str_eq(get(c, JOB_A, "alice", 1100), "a2");
	ck_assert_uint_eq(job_cache_expire(c, 1250), 1); /* c went, A was put again at 300 */
	ck_assert_uint_eq(job_cache_expire(c, 1300), 0);
	ck_assert_uint_eq(job_cache_bytes(c), 0);
	job_cache_free(c);
	/* a zero life stores nothing */
	c = job_cache_new(1 << 20, 0);
	job_cache_put(c, JOB_A, "alice", "a", 1, 0);
	ck_assert_uint_eq(job_cache_count(c), 0);
	job_cache_free(c);
}
END_TEST

START_TEST(test_bound_evicts_least_recently_used)
{
	char id[40], body[1000];
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	struct job_cache *c = job_cache_new(64 * 1024, 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "job-%d", i);
		job_cache_put(c, id, "alice", body, strlen(body), 0);
		if (i == 10)
			ck_assert_ptr_nonnull(get(c, "job-0", "alice", 0)); /* job-0 is now the newest */
		ck_assert_uint_le(job_cache_bytes(c), 64 * 1024);
	}
	size_t n = job_cache_count(c);
	ck_assert_uint_gt(n, 40); /* about 64 entries of a kilobyte fit */
	ck_assert_uint_lt(n, 64);
	ck_assert_ptr_nonnull(get(c, "job-999", "alice", 1));
	ck_assert_ptr_null(get(c, "job-1", "alice", 1)); /* the oldest went first */
	ck_assert_ptr_null(get(c, "job-0", "alice", 1)); /* used once, then old again */
	/* a body larger than the whole bound is not kept, and evicts nothing */
	char *big = malloc(70 * 1024);
	memset(big, 'y', 70 * 1024 - 1);
	big[70 * 1024 - 1] = '\0';
	job_cache_put(c, "job-big", "alice", big, strlen(big), 1);
	ck_assert_ptr_null(get(c, "job-big", "alice", 1));
	ck_assert_uint_eq(job_cache_count(c), n);
	free(big);
	job_cache_free(c);
}
END_TEST

static Suite *job_cache_suite(void)
{
	Suite *s = suite_create("job_cache");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_hit_for_owner_only);
	tcase_add_test(tc, test_drop_and_clear);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_bound_evicts_least_recently_used);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(job_cache_suite());
	int failed;
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
