/*
 * Unit tests for REEL_BILLING_FILE: a good file's prices, plans, packs and
 * check-in credits; each bad field refused with its path in the error; and
 * billing_price's fallbacks (the provider's price, else the stage's "*",
 * else nothing).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "billing.h"
#include "../unit_suite.h"
#include "banned.h"

static const char good[] =
	"{\"prices\":{\"parse\":{\"*\":1},\"render\":{\"*\":2,\"replicate\":5},\"i2v\":{\"*\":10},"
	"\"tts\":{\"openai\":3},\"merge\":{\"*\":1}},"
	"\"plans\":{\"free\":{\"monthly_credits\":100,\"max_resolution\":\"720p\",\"max_shots\":12,"
	"\"max_jobs_in_flight\":2,\"retention_days\":7,\"i2v\":false},"
	"\"pro\":{\"monthly_credits\":2000,\"max_resolution\":\"1080p\",\"i2v\":true,\"stripe_price\":\"price_pro\","
	"\"lemonsqueezy_variant\":\"4242\"}},"
	"\"packs\":{\"starter\":{\"credits\":500,\"stripe_price\":\"price_starter\",\"lemonsqueezy_variant\":\"77\"}},"
	"\"checkin_credits\":5}";

/* Writes text to a new file of its own and loads it; err receives the refusal. */
static struct billing *load_text(const char *text, char *err, size_t errlen)
{
	char path[] = "/tmp/reel-billing-test-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	err[0] = '\0';
	struct billing *b = billing_load(path, 20, err, errlen);
	unlink(path);
	return b;
}

/* The good file with the first occurrence of from replaced by to must be refused naming field. */
static void refused(const char *from, const char *to, const char *field)
{
	char text[2048], err[512];
	const char *at = strstr(good, from);
	ck_assert_msg(at, "the good file has no %s", from);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	struct billing *b = load_text(text, err, sizeof(err));
	ck_assert_msg(!b, "accepted a file with %s", to);
	ck_assert_msg(strstr(err, field), "the error '%s' does not name %s", err, field);
	ck_assert_msg(strstr(err, "REEL_BILLING_FILE="), "the error '%s' does not name the variable", err);
}

START_TEST(test_good_file)
{
	char err[512];
	struct billing *b = load_text(good, err, sizeof(err));
	ck_assert_msg(b, "refused: %s", err);
	ck_assert_int_eq(b->checkin_credits, 5);
	ck_assert_int_eq(b->reserve_margin_pct, 20);
	const struct billing_plan *free_plan = billing_plan(b, "free"), *pro = billing_plan(b, "pro");
	ck_assert_ptr_nonnull(free_plan);
	ck_assert_int_eq(free_plan->monthly_credits, 100);
	ck_assert_int_eq(free_plan->max_height, 720);
	ck_assert_int_eq(free_plan->max_shots, 12);
	ck_assert_int_eq(free_plan->max_jobs_in_flight, 2);
	ck_assert(!free_plan->i2v);
	ck_assert_ptr_nonnull(pro);
	ck_assert_int_eq(pro->max_height, 1080);
	ck_assert(pro->i2v);
	ck_assert_ptr_null(billing_plan(b, "gold"));
	const struct billing_pack *pack = billing_pack(b, "starter");
	ck_assert_ptr_nonnull(pack);
	ck_assert_int_eq(pack->credits, 500);
	ck_assert_ptr_eq(billing_plan_by_product(b, "stripe", "price_pro"), pro);
	ck_assert_ptr_eq(billing_plan_by_product(b, "lemonsqueezy", "4242"), pro);
	ck_assert_ptr_eq(billing_pack_by_product(b, "stripe", "price_starter"), pack);
	ck_assert_ptr_eq(billing_pack_by_product(b, "lemonsqueezy", "77"), pack);
	ck_assert_ptr_null(billing_pack_by_product(b, "stripe", "price_pro"));
	billing_free(b);
}
END_TEST

START_TEST(test_price_fallbacks)
{
	char err[512];
	struct billing *b = load_text(good, err, sizeof(err));
	ck_assert_msg(b, "refused: %s", err);
	ck_assert_int_eq(billing_price(b, "render", "replicate"), 5); /* the provider's own price */
	ck_assert_int_eq(billing_price(b, "render", "fal"), 2);       /* the stage's "*" */
	ck_assert_int_eq(billing_price(b, "render", "offline"), 2);
	ck_assert_int_eq(billing_price(b, "i2v", "fal"), 10);
	ck_assert_int_eq(billing_price(b, "tts", "openai"), 3);
	ck_assert_int_eq(billing_price(b, "tts", "offline"), 0); /* no "*" for tts: free */
	ck_assert_int_eq(billing_price(b, "merge", "ffmpeg"), 1);
	ck_assert_int_eq(billing_price(b, "upscale", "fal"), 0); /* a stage the table does not know */
	billing_free(b);
}
END_TEST

START_TEST(test_unknown_stage)
{
	refused("\"i2v\":{\"*\":10}", "\"upscale\":{\"*\":10}", "prices.upscale");
}
END_TEST

START_TEST(test_negative_price)
{
	refused("\"replicate\":5", "\"replicate\":-5", "prices.render.replicate");
}
END_TEST

START_TEST(test_bad_max_resolution)
{
	refused("\"max_resolution\":\"1080p\"", "\"max_resolution\":\"4k\"", "plans.pro.max_resolution");
}
END_TEST

START_TEST(test_missing_free_plan)
{
	refused("\"free\":", "\"basic\":", "plans");
	char err[512];
	ck_assert_ptr_null(load_text("{\"prices\":{\"parse\":{\"*\":1}},\"plans\":{}}", err, sizeof(err)));
	ck_assert_msg(strstr(err, "free"), "the error '%s' does not name the plan free", err);
}
END_TEST

START_TEST(test_pack_without_credits)
{
	refused("\"credits\":500,", "", "packs.starter.credits");
}
END_TEST

START_TEST(test_unknown_member)
{
	refused("\"i2v\":true", "\"i2v\":true,\"voices\":3", "plans.pro.voices");
	refused("\"checkin_credits\":5", "\"checkin_credits\":5,\"coupons\":{}", "coupons");
	refused("\"credits\":500", "\"credits\":500,\"bonus\":5", "packs.starter.bonus");
}
END_TEST

START_TEST(test_not_json)
{
	char err[512];
	ck_assert_ptr_null(load_text("{\"prices\": {", err, sizeof(err)));
	ck_assert_msg(strstr(err, "JSON"), "the error '%s' does not say the file is not JSON", err);
	ck_assert_ptr_null(load_text("[1, 2]", err, sizeof(err)));
	ck_assert_msg(strstr(err, "JSON object"), "the error '%s' does not ask for an object", err);
}
END_TEST

START_TEST(test_missing_file)
{
	char err[512];
	ck_assert_ptr_null(billing_load("/nonexistent/billing.json", 20, err, sizeof(err)));
	ck_assert_msg(strstr(err, "/nonexistent/billing.json"), "the error '%s' does not name the file", err);
}
END_TEST

static Suite *billing_suite(void)
{
	Suite *s = suite_create("billing");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_price_fallbacks);
	tcase_add_test(tc, test_unknown_stage);
	tcase_add_test(tc, test_negative_price);
	tcase_add_test(tc, test_bad_max_resolution);
	tcase_add_test(tc, test_missing_free_plan);
	tcase_add_test(tc, test_pack_without_credits);
	tcase_add_test(tc, test_unknown_member);
	tcase_add_test(tc, test_not_json);
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_suite(billing_suite());
}
