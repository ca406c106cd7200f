/*
 * Unit tests for out-of-order offset bookkeeping: the committable offset of a
 * partition advances only past a finished prefix; partitions are independent;
 * bad finishes are refused; the ring grows and wraps; and 10k random
 * operations over 4 partitions agree with a naive reference model.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "offsets.h"
#include "banned.h"

/* Finishes and asserts the result; want_next is checked only when want == 1. */
static void finish_is(struct offsets *o, int32_t part, int64_t off, int want, int64_t want_next)
{
	int64_t next = -12345;
	int rc = offsets_finish(o, part, off, &next);
	ck_assert_msg(rc == want, "finish(%d, %lld) = %d, want %d", (int)part, (long long)off, rc, want);
	if (want == 1)
		ck_assert_msg(next == want_next, "finish(%d, %lld): next %lld, want %lld", (int)part, (long long)off,
			      (long long)next, (long long)want_next);
	else
		ck_assert_msg(next == -12345, "next written when rc=%d", rc);
}

START_TEST(test_in_order)
{
	struct offsets *o = offsets_new();
	ck_assert_uint_eq(offsets_in_flight(o), 0);
	for (int64_t i = 0; i < 10; i++)
		offsets_begin(o, 0, i);
	ck_assert_uint_eq(offsets_in_flight(o), 10);
	for (int64_t i = 0; i < 10; i++) {
		finish_is(o, 0, i, 1, i + 1);
		ck_assert_uint_eq(offsets_in_flight(o), (size_t)(9 - i));
	}
	offsets_free(o);
}
END_TEST

START_TEST(test_out_of_order)
{
	struct offsets *o = offsets_new();
	offsets_begin(o, 0, 1);
	offsets_begin(o, 0, 2);
	offsets_begin(o, 0, 3);
	finish_is(o, 0, 3, 0, 0); /* 1 and 2 still running */
	ck_assert_uint_eq(offsets_in_flight(o), 2);
	finish_is(o, 0, 1, 1, 2); /* 1 done, 2 blocks */
	finish_is(o, 0, 2, 1, 4); /* 2 done, 3 was done already */
	ck_assert_uint_eq(offsets_in_flight(o), 0);
	offsets_free(o);
}
END_TEST

START_TEST(test_gaps_in_offsets)
{
	/* Offsets need not be contiguous (compacted topics, transactions). */
	struct offsets *o = offsets_new();
	offsets_begin(o, 0, 10);
	offsets_begin(o, 0, 15);
	offsets_begin(o, 0, 100);
	finish_is(o, 0, 15, 0, 0);
	finish_is(o, 0, 10, 1, 16);
	finish_is(o, 0, 100, 1, 101);
	offsets_begin(o, 0, 0x7fffffff00LL);
	finish_is(o, 0, 0x7fffffff00LL, 1, 0x7fffffff01LL);
	offsets_free(o);
}
END_TEST

START_TEST(test_offset_zero)
{
	struct offsets *o = offsets_new();
	offsets_begin(o, 5, 0);
	offsets_begin(o, 5, 1);
	finish_is(o, 5, 1, 0, 0);
	finish_is(o, 5, 0, 1, 2);
	offsets_free(o);
}
END_TEST

START_TEST(test_partitions_independent)
{
	struct offsets *o = offsets_new();
	for (int64_t i = 0; i < 3; i++) {
		offsets_begin(o, 0, i);
		offsets_begin(o, 7, 100 + i);
		offsets_begin(o, -1, 1000 + i); /* partition ids are opaque */
	}
	ck_assert_uint_eq(offsets_in_flight(o), 9);
	finish_is(o, 7, 100, 1, 101);
	finish_is(o, 0, 1, 0, 0);
	finish_is(o, -1, 1001, 0, 0);
	finish_is(o, -1, 1000, 1, 1002);
	finish_is(o, 0, 0, 1, 2);
	/* An offset of another partition is unknown here. */
	finish_is(o, 0, 101, -1, 0);
	finish_is(o, 7, 2, -1, 0);
	ck_assert_uint_eq(offsets_in_flight(o), 4);
	finish_is(o, 7, 102, 0, 0);
	finish_is(o, 7, 101, 1, 103);
	finish_is(o, 0, 2, 1, 3);
	finish_is(o, -1, 1002, 1, 1003);
	ck_assert_uint_eq(offsets_in_flight(o), 0);
	offsets_free(o);
}
END_TEST

START_TEST(test_bad_finish)
{
	struct offsets *o = offsets_new();
	finish_is(o, 0, 0, -1, 0); /* no partition at all */
	offsets_begin(o, 0, 5);
	offsets_begin(o, 0, 6);
	offsets_begin(o, 0, 8);
	finish_is(o, 0, 4, -1, 0); /* before */
	finish_is(o, 0, 7, -1, 0); /* gap */
	finish_is(o, 0, 9, -1, 0); /* after */
	finish_is(o, 1, 5, -1, 0); /* other partition */
	ck_assert_uint_eq(offsets_in_flight(o), 3);
	finish_is(o, 0, 6, 0, 0);
	finish_is(o, 0, 6, -1, 0); /* finished, still held behind 5 */
	ck_assert_uint_eq(offsets_in_flight(o), 2);
	finish_is(o, 0, 5, 1, 7);
	finish_is(o, 0, 5, -1, 0); /* finished and popped */
	finish_is(o, 0, 6, -1, 0);
	ck_assert_uint_eq(offsets_in_flight(o), 1);
	finish_is(o, 0, 8, 1, 9);
	finish_is(o, 0, 8, -1, 0);
	ck_assert_uint_eq(offsets_in_flight(o), 0);
	offsets_free(o);
}
END_TEST

START_TEST(test_growth_past_64)
{
	struct offsets *o = offsets_new();
	const int64_t n = 1000;
	for (int64_t i = 0; i < n; i++)
		offsets_begin(o, 3, i);
	ck_assert_uint_eq(offsets_in_flight(o), (size_t)n);
	/* Finish all but the first in reverse, then the first releases everything. */
	for (int64_t i = n - 1; i >= 1; i--)
		finish_is(o, 3, i, 0, 0);
	ck_assert_uint_eq(offsets_in_flight(o), 1);
	finish_is(o, 3, 0, 1, n);
	ck_assert_uint_eq(offsets_in_flight(o), 0);
	offsets_free(o);
}
END_TEST

START_TEST(test_growth_while_wrapped)
{
	/* Fill the first ring, pop part of it so head moves, then refill past the
	 * end so the ring wraps before it has to grow. */
	struct offsets *o = offsets_new();
	int64_t next_off = 0, committed = 0;
	for (; next_off < 64; next_off++)
		offsets_begin(o, 0, next_off);
	for (int64_t i = 0; i < 40; i++)
		finish_is(o, 0, i, 1, i + 1);
	committed = 40;
	for (; next_off < 64 + 40 + 50; next_off++) /* wraps at 64, grows at 64 in flight */
		offsets_begin(o, 0, next_off);
	ck_assert_uint_eq(offsets_in_flight(o), (size_t)(next_off - committed));
	/* Finish odd ones first, then even ones: every even finish releases two. */
	for (int64_t i = committed + 1; i < next_off; i += 2)
		finish_is(o, 0, i, 0, 0);
	for (int64_t i = committed; i < next_off; i += 2)
		finish_is(o, 0, i, 1, i + 2 <= next_off ? i + 2 : next_off);
	ck_assert_uint_eq(offsets_in_flight(o), 0);
	offsets_free(o);
}
END_TEST

START_TEST(test_sliding_window_wraps)
{
	/* A window of W in flight slides over many thousands of offsets: the
	 * ring wraps around again and again. Within each window the messages
	 * finish newest first. */
	static const int64_t windows[] = { 1, 7, 63, 64, 65, 100, 300 };
	for (size_t w = 0; w < ARRAY_SIZE(windows); w++) {
		struct offsets *o = offsets_new();
		const int64_t W = windows[w], total = 20000;
		int64_t begun = 0;
		while (begun < total) {
			int64_t start = begun;
			for (; begun < start + W; begun++)
				offsets_begin(o, 2, begun);
			ck_assert_uint_eq(offsets_in_flight(o), (size_t)W);
			for (int64_t i = begun - 1; i > start; i--)
				finish_is(o, 2, i, 0, 0);
			finish_is(o, 2, start, 1, begun);
		}
		ck_assert_uint_eq(offsets_in_flight(o), 0);
		offsets_free(o);
	}
}
END_TEST

START_TEST(test_sliding_window_steady)
{
	/* Steady state: one begun and the oldest finished each step. */
	struct offsets *o = offsets_new();
	const int64_t W = 100;
	for (int64_t i = 0; i < W; i++)
		offsets_begin(o, 0, i);
	for (int64_t i = W; i < 50000; i++) {
		finish_is(o, 0, i - W, 1, i - W + 1);
		offsets_begin(o, 0, i);
		ck_assert_uint_eq(offsets_in_flight(o), (size_t)W);
	}
	offsets_free(o);
}
END_TEST

START_TEST(test_forget)
{
	struct offsets *o = offsets_new();
	for (int64_t i = 0; i < 100; i++) {
		offsets_begin(o, 1, i);
		offsets_begin(o, 2, i);
	}
	finish_is(o, 1, 50, 0, 0);
	finish_is(o, 1, 0, 1, 1);
	ck_assert_uint_eq(offsets_in_flight(o), 198);
	offsets_forget(o, 1);
	ck_assert_uint_eq(offsets_in_flight(o), 100); /* 98 unfinished of partition 1 dropped */
	finish_is(o, 1, 10, -1, 0);                   /* no longer known */
	finish_is(o, 1, 50, -1, 0);
	offsets_forget(o, 99); /* unknown partition: nothing happens */
	ck_assert_uint_eq(offsets_in_flight(o), 100);
	/* Partition 2 is untouched. */
	finish_is(o, 2, 0, 1, 1);
	/* The partition comes back (reassigned) and resumes from its committed offset. */
	offsets_begin(o, 1, 1);
	offsets_begin(o, 1, 2);
	ck_assert_uint_eq(offsets_in_flight(o), 101);
	finish_is(o, 1, 2, 0, 0);
	finish_is(o, 1, 1, 1, 3);
	offsets_forget(o, 2);
	ck_assert_uint_eq(offsets_in_flight(o), 0);
	offsets_free(o);
}
END_TEST

START_TEST(test_free_null)
{
	offsets_free(NULL);
}
END_TEST

/* The reference model: per partition, every offset begun since the last
 * forget, with a done flag; head is the first one not yet committed. */
struct ref_part {
	int64_t *off;
	bool *done;
	size_t head, len, cap;
	int64_t next_begin; /* offset the next begin will use */
	int64_t committed;  /* last committable offset reported */
};

static void ref_begin(struct ref_part *r, int64_t off)
{
	if (r->len == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->off = realloc(r->off, r->cap * sizeof(*r->off));
		r->done = realloc(r->done, r->cap * sizeof(*r->done));
		ck_assert(r->off && r->done);
	}
	r->off[r->len] = off;
	r->done[r->len] = false;
	r->len++;
}

/* Same contract as offsets_finish, by linear scan. */
static int ref_finish(struct ref_part *r, int64_t off, int64_t *next)
{
	size_t i;
	bool moved = false;
	for (i = r->head; i < r->len; i++)
		if (r->off[i] == off)
			break;
	if (i == r->len || r->done[i])
		return -1;
	r->done[i] = true;
	while (r->head < r->len && r->done[r->head]) {
		*next = r->off[r->head] + 1;
		r->head++;
		moved = true;
	}
	return moved ? 1 : 0;
}

static size_t ref_in_flight(const struct ref_part *r, size_t n)
{
	size_t total = 0;
	for (size_t p = 0; p < n; p++)
		for (size_t i = r[p].head; i < r[p].len; i++)
			total += !r[p].done[i];
	return total;
}

START_TEST(test_random_against_model)
{
	enum { PARTS = 4, OPS = 10000 };
	struct ref_part ref[PARTS];
	struct offsets *o = offsets_new();
	unsigned seed = 12345u + (unsigned)_i;
	size_t n_begin = 0, n_finish_ok = 0, n_finish_bad = 0, n_forget = 0, n_advanced = 0;

	memset(ref, 0, sizeof(ref));
	srand(seed);
	for (int op = 0; op < OPS; op++) {
		int32_t p = rand() % PARTS;
		struct ref_part *r = &ref[p];
		int kind = rand() % 100;
		if (kind < 45) {
			/* Begin, sometimes skipping offsets. */
			int64_t off = r->next_begin + (rand() % 5 == 0 ? rand() % 3 + 1 : 0);
			offsets_begin(o, p, off);
			ref_begin(r, off);
			r->next_begin = off + 1;
			n_begin++;
		} else if (kind < 90) {
			/* Finish a random live (not yet popped) entry; it may be done already. */
			size_t live = r->len - r->head;
			int64_t off, got = -7, want = -7;
			int rc, want_rc;
			if (live == 0)
				continue;
			off = r->off[r->head + (size_t)rand() % live];
			want_rc = ref_finish(r, off, &want);
			rc = offsets_finish(o, p, off, &got);
			ck_assert_msg(rc == want_rc, "op %d: finish(%d,%lld) = %d, model %d", op, (int)p,
				      (long long)off, rc, want_rc);
			if (rc == 1) {
				ck_assert_msg(got == want, "op %d: next %lld, model %lld", op, (long long)got,
					      (long long)want);
				ck_assert_int_gt(got, r->committed);
				r->committed = got;
				n_advanced++;
			}
			if (rc >= 0)
				n_finish_ok++;
			else
				n_finish_bad++;
		} else if (kind < 98) {
			/* Finish something never begun or long gone. */
			int64_t off = rand() % 2 ? r->next_begin + 1000 : -1 - rand() % 10, got = -7, want = -7;
			if (rand() % 2 && r->head > 0)
				off = r->off[(size_t)rand() % r->head]; /* popped already */
			ck_assert_int_eq(ref_finish(r, off, &want), -1);
			ck_assert_int_eq(offsets_finish(o, p, off, &got), -1);
			n_finish_bad++;
		} else {
			/* Revoke; the partition resumes from what was committed. */
			offsets_forget(o, p);
			r->head = r->len = 0;
			r->next_begin = r->committed;
			n_forget++;
		}
		ck_assert_uint_eq(offsets_in_flight(o), ref_in_flight(ref, PARTS));
	}
	/* Enough of each kind happened for the comparison to mean something. */
	ck_assert_uint_gt(n_begin, 3000);
	ck_assert_uint_gt(n_finish_ok, 2000);
	ck_assert_uint_gt(n_finish_bad, 500);
	ck_assert_uint_gt(n_advanced, 500);
	ck_assert_uint_gt(n_forget, 50);

	/* Drain: finishing everything left, oldest last, releases each partition fully. */
	for (int32_t p = 0; p < PARTS; p++) {
		struct ref_part *r = &ref[p];
		int64_t got = -7, want = -7;
		for (size_t i = r->len; i-- > r->head;)
			if (!r->done[i]) {
				int want_rc = ref_finish(r, r->off[i], &want);
				ck_assert_int_eq(offsets_finish(o, p, r->off[i], &got), want_rc);
				if (want_rc == 1)
					ck_assert_int_eq(got, want);
			}
		ck_assert_uint_eq(r->head, r->len);
		free(r->off);
		free(r->done);
	}
	ck_assert_uint_eq(offsets_in_flight(o), 0);
	offsets_free(o);
}
END_TEST

static Suite *offsets_suite(void)
{
	Suite *s = suite_create("offsets");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_in_order);
	tcase_add_test(tc, test_out_of_order);
	tcase_add_test(tc, test_gaps_in_offsets);
	tcase_add_test(tc, test_offset_zero);
	tcase_add_test(tc, test_partitions_independent);
	tcase_add_test(tc, test_bad_finish);
	tcase_add_test(tc, test_growth_past_64);
	tcase_add_test(tc, test_growth_while_wrapped);
	tcase_add_test(tc, test_sliding_window_wraps);
	tcase_add_test(tc, test_sliding_window_steady);
	tcase_add_test(tc, test_forget);
	tcase_add_test(tc, test_free_null);
	tcase_add_loop_test(tc, test_random_against_model, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(offsets_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
