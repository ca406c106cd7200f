/*
 * Unit tests for the metrics registry: counters and gauges render with their
 * HELP and TYPE once per name, histograms render cumulative buckets, _sum and
 * _count, label values are escaped, and collectors run before each render.
 * Each test runs forked, so the process-wide registry starts empty.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "banned.h"

static int count_of(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

START_TEST(test_counter_and_gauge)
{
	metrics_add(metrics_counter("reel_x_total", "X things", "stage=\"a\""), 2);
	metrics_add(metrics_counter("reel_x_total", "X things", "stage=\"b\""), 1);
	metrics_add(metrics_counter("reel_x_total", "X things", "stage=\"a\""), 3);
	metrics_set(metrics_gauge("reel_depth", "Depth", ""), 7);
	char *t = metrics_render();
	ck_assert_int_eq(count_of(t, "# TYPE reel_x_total counter\n"), 1);
	ck_assert_ptr_nonnull(strstr(t, "reel_x_total{stage=\"a\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(t, "reel_x_total{stage=\"b\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "# TYPE reel_depth gauge\nreel_depth 7\n"));
	free(t);
}
END_TEST

START_TEST(test_histogram)
{
	struct metric *h = metrics_histogram("reel_y_seconds", "Y", "vendor=\"v\"");
	metrics_observe(h, 0.003);
	metrics_observe(h, 0.2);
	metrics_observe(h, 500);
	char *t = metrics_render();
	ck_assert_ptr_nonnull(strstr(t, "# TYPE reel_y_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(t, "reel_y_seconds_bucket{vendor=\"v\",le=\"0.005\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "reel_y_seconds_bucket{vendor=\"v\",le=\"0.1\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "reel_y_seconds_bucket{vendor=\"v\",le=\"0.25\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "reel_y_seconds_bucket{vendor=\"v\",le=\"120\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "reel_y_seconds_bucket{vendor=\"v\",le=\"+Inf\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(t, "reel_y_seconds_count{vendor=\"v\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(t, "reel_y_seconds_sum{vendor=\"v\"} 500.20"));
	free(t);
}
END_TEST

START_TEST(test_label_escaping)
{
	char out[32];
	metrics_label_value(out, sizeof(out), "a\"b\\c\nd");
	ck_assert_str_eq(out, "a\\\"b\\\\c\\nd");
	metrics_label_value(out, 6, "abcdefghij");
	ck_assert_uint_le(strlen(out), 5);
}
END_TEST

static void collect(void *arg)
{
	int *calls = arg;
	metrics_set(metrics_gauge("reel_collected", "Set by a collector", ""), ++*calls);
}

START_TEST(test_collectors_run_before_render)
{
	int calls = 0;
	metrics_on_render(collect, &calls);
	free(metrics_render());
	char *t = metrics_render();
	ck_assert_int_eq(calls, 2);
	ck_assert_ptr_nonnull(strstr(t, "reel_collected 2\n"));
	free(t);
}
END_TEST

START_TEST(test_large_output_grows)
{
	char labels[64];
	for (int i = 0; i < 2000; i++) {
		snprintf(labels, sizeof(labels), "partition=\"%d\"", i);
		metrics_set(metrics_gauge("reel_many", "Many series", labels), i);
	}
	char *t = metrics_render();
	ck_assert_int_eq(count_of(t, "reel_many{"), 2000);
	ck_assert_ptr_nonnull(strstr(t, "reel_many{partition=\"1999\"} 1999\n"));
	free(t);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_counter_and_gauge);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_label_escaping);
	tcase_add_test(tc, test_collectors_run_before_render);
	tcase_add_test(tc, test_large_output_grows);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
