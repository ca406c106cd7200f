/*
 * Unit tests for a job's credit estimate and its plan's limits: the price
 * table applied per shot, per started merge minute and to the parse, the
 * margin rounded up, and each limit refused with 403 plan-limit naming the
 * option (absent options filled in with the plan's cap).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cost_estimate.h"
#include "../unit_suite.h"
#include "banned.h"

static const char file_text[] =
	"{\"prices\":{\"parse\":{\"*\":1},\"render\":{\"*\":2,\"replicate\":5},\"i2v\":{\"*\":10},"
	"\"tts\":{\"*\":1},\"merge\":{\"*\":1}},"
	"\"plans\":{\"free\":{\"monthly_credits\":100,\"max_resolution\":\"720p\",\"max_shots\":4,"
	"\"max_jobs_in_flight\":2,\"retention_days\":7,\"i2v\":false},"
	"\"pro\":{\"monthly_credits\":1000,\"max_shots\":30,\"i2v\":true}},\"checkin_credits\":5}";

static struct billing *load(long margin)
{
	char path[] = "/tmp/test_cost_estimate_XXXXXX", err[256];
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, file_text, strlen(file_text)), (int)strlen(file_text));
	close(fd);
	struct billing *b = billing_load(path, margin, err, sizeof(err));
	unlink(path);
	ck_assert_msg(b != NULL, "%s", err);
	return b;
}

static long estimate_of(const struct billing *b, const char *options_json, long shots, long merged, bool parse)
{
	cJSON *o = cJSON_Parse(options_json);
	ck_assert_ptr_nonnull(o);
	long n = cost_estimate(b, o, shots, merged, parse);
	cJSON_Delete(o);
	return n;
}

START_TEST(test_defaults)
{
	struct billing *b = load(20);
	cJSON *o = cJSON_Parse("{}");
	ck_assert_int_eq(cost_estimate_shots(o), 12);
	/* 12 x (render 2 + tts 1) + merge 3 minutes + parse 1 = 40, +20 % = 48 */
	ck_assert_int_eq(cost_estimate(b, o, 12, 12, true), 48);
	cJSON_Delete(o);
	billing_free(b);
}
END_TEST

START_TEST(test_provider_and_i2v)
{
	struct billing *b = load(20);
	/* 2 x (replicate 5 + i2v 10 + tts 1) + merge 1 + parse 1 = 34, +6.8 rounded up = 41 */
	ck_assert_int_eq(estimate_of(b, "{\"providers\":{\"render\":\"replicate\"},\"motion\":\"i2v\"}", 2, 2, true),
			 41);
	/* a provider without its own price pays the stage's "*" */
	ck_assert_int_eq(estimate_of(b, "{\"providers\":{\"render\":\"offline\"}}", 2, 2, true),
			 estimate_of(b, "{}", 2, 2, true));
	billing_free(b);
}
END_TEST

START_TEST(test_margin_and_rework)
{
	struct billing *b = load(20);
	/* one shot again (3) and a merge of 5 shots (75 s: 2 minutes), no parse: 5, +1 */
	ck_assert_int_eq(estimate_of(b, "{}", 1, 5, false), 6);
	/* 4 shots merge in exactly one minute: 12 + 1 + 1 = 14, +2.8 rounded up = 17 */
	ck_assert_int_eq(estimate_of(b, "{}", 4, 4, true), 17);
	billing_free(b);
	b = load(0);
	ck_assert_int_eq(estimate_of(b, "{}", 4, 4, true), 14);
	billing_free(b);
}
END_TEST

START_TEST(test_plan_lookup)
{
	struct billing *b = load(20);
	ck_assert_str_eq(cost_estimate_plan(b, "pro")->name, "pro");
	ck_assert_str_eq(cost_estimate_plan(b, "gone-plan")->name, "free");
	ck_assert_str_eq(cost_estimate_plan(b, NULL)->name, "free");
	billing_free(b);
}
END_TEST

static void refused(const struct billing_plan *pl, const char *options_json, const char *field, const char *limit)
{
	struct api_problem p;
	cJSON *o = cJSON_Parse(options_json);
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(cost_estimate_limits(pl, o, &p), -1);
	ck_assert_int_eq(p.status, 403);
	ck_assert_str_eq(p.type, "plan-limit");
	ck_assert_str_eq(p.field, field);
	ck_assert_msg(strstr(p.detail, limit) != NULL, "%s lacks %s", p.detail, limit);
	cJSON_Delete(o);
}

START_TEST(test_limits)
{
	struct billing *b = load(20);
	const struct billing_plan *free_plan = cost_estimate_plan(b, "free"), *pro = cost_estimate_plan(b, "pro");
	refused(free_plan, "{\"resolution\":\"1080p\"}", "options.resolution", "max_resolution");
	refused(free_plan, "{\"max_shots\":5}", "options.max_shots", "max_shots");
	refused(free_plan, "{\"motion\":\"i2v\"}", "options.motion", "i2v");
	struct api_problem p;
	cJSON *o = cJSON_Parse("{\"resolution\":\"1080p\",\"max_shots\":20,\"motion\":\"i2v\"}");
	ck_assert_int_eq(cost_estimate_limits(pro, o, &p), 0);
	cJSON_Delete(o);
	billing_free(b);
}
END_TEST

START_TEST(test_defaults_take_the_cap)
{
	struct billing *b = load(20);
	struct api_problem p;
	cJSON *o = cJSON_Parse("{\"motion\":\"still\"}");
	ck_assert_int_eq(cost_estimate_limits(cost_estimate_plan(b, "free"), o, &p), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "resolution")->valuestring, "720p");
	ck_assert_int_eq(cost_estimate_shots(o), 4);
	cJSON_Delete(o);
	/* a plan that allows the defaults leaves the options as sent */
	o = cJSON_Parse("{}");
	ck_assert_int_eq(cost_estimate_limits(cost_estimate_plan(b, "pro"), o, &p), 0);
	ck_assert_ptr_null(o->child);
	cJSON_Delete(o);
	billing_free(b);
}
END_TEST

static Suite *cost_estimate_suite(void)
{
	Suite *s = suite_create("cost_estimate");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_provider_and_i2v);
	tcase_add_test(tc, test_margin_and_rework);
	tcase_add_test(tc, test_plan_lookup);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_defaults_take_the_cap);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_suite(cost_estimate_suite());
}
