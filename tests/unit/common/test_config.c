/*
 * Unit tests for the table-driven environment configuration: defaults,
 * required options, integer bounds, boolean spellings, error messages that
 * name the variable, releasing what config_load allocated, and the masking
 * of secrets and URL passwords in the logged effective configuration.
 */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "banned.h"

struct test_cfg {
	char *name;   /* RFT_NAME */
	char *secret; /* RFT_SECRET */
	char *db;     /* RFT_DB */
	long port;    /* RFT_PORT */
	long count;   /* RFT_COUNT */
	bool flag;    /* RFT_FLAG */
	bool other;   /* RFT_OTHER */
};

static const struct config_option opts[] = {
	{ "RFT_NAME", CONFIG_STRING, "reel", 0, offsetof(struct test_cfg, name), 0, 0, "a name" },
	{ "RFT_SECRET", CONFIG_STRING, NULL, CONFIG_SECRET, offsetof(struct test_cfg, secret), 0, 0, "a secret" },
	{ "RFT_DB", CONFIG_STRING, NULL, 0, offsetof(struct test_cfg, db), 0, 0, "a database URL" },
	{ "RFT_PORT", CONFIG_INT, "8080", 0, offsetof(struct test_cfg, port), 1, 65535, "a port" },
	{ "RFT_COUNT", CONFIG_INT, NULL, 0, offsetof(struct test_cfg, count), -5, 5, "a count" },
	{ "RFT_FLAG", CONFIG_BOOL, "true", 0, offsetof(struct test_cfg, flag), 0, 0, "a flag" },
	{ "RFT_OTHER", CONFIG_BOOL, NULL, 0, offsetof(struct test_cfg, other), 0, 0, "another flag" },
};

static void clear_env(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		unsetenv(opts[i].name);
	unsetenv("RFT_REQ");
}

static void load_ok(struct test_cfg *c)
{
	char err[256] = "";
	memset(c, 0, sizeof(*c));
	ck_assert_msg(config_load(opts, ARRAY_SIZE(opts), c, err, sizeof(err)) == 0, "load failed: %s", err);
}

/* Loads expecting a refusal; returns the error text in err. */
static void load_fails(char *err, size_t errlen)
{
	struct test_cfg c;
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	ck_assert_int_eq(config_load(opts, ARRAY_SIZE(opts), &c, err, errlen), -1);
	ck_assert_msg(err[0] != '\0', "no error text");
	/* What was loaded before the failure has been released. */
	ck_assert_ptr_null(c.name);
	ck_assert_ptr_null(c.secret);
	ck_assert_ptr_null(c.db);
}

/* Runs config_log with fd 2 sent to a temporary file; returns what was written (caller frees). */
static char *capture_log(const struct config_option *o, size_t n, const void *dst)
{
	FILE *f = tmpfile();
	int saved;
	long size;
	char *out;

	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
	log_set_level(LOG_INFO);
	config_log(o, n, dst);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_gt(size, 0);
	rewind(f);
	out = calloc(1, (size_t)size + 1);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(fread(out, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return out;
}

START_TEST(test_defaults)
{
	struct test_cfg c;
	clear_env();
	load_ok(&c);
	ck_assert_str_eq(c.name, "reel");
	ck_assert_ptr_null(c.secret);
	ck_assert_ptr_null(c.db);
	ck_assert_int_eq(c.port, 8080);
	ck_assert_int_eq(c.count, 0);
	ck_assert(c.flag == true);
	ck_assert(c.other == false);
	config_release(opts, ARRAY_SIZE(opts), &c);
	ck_assert_ptr_null(c.name);
}
END_TEST

START_TEST(test_values_from_env)
{
	struct test_cfg c;
	clear_env();
	setenv("RFT_NAME", "gateway", 1);
	setenv("RFT_SECRET", "s3cr3t", 1);
	setenv("RFT_DB", "postgresql://u@h/db", 1);
	setenv("RFT_PORT", "65535", 1);
	setenv("RFT_COUNT", "-5", 1);
	setenv("RFT_FLAG", "off", 1);
	setenv("RFT_OTHER", "YES", 1);
	load_ok(&c);
	ck_assert_str_eq(c.name, "gateway");
	ck_assert_str_eq(c.secret, "s3cr3t");
	ck_assert_str_eq(c.db, "postgresql://u@h/db");
	ck_assert_int_eq(c.port, 65535);
	ck_assert_int_eq(c.count, -5);
	ck_assert(c.flag == false);
	ck_assert(c.other == true);
	config_release(opts, ARRAY_SIZE(opts), &c);
	ck_assert_ptr_null(c.name);
	ck_assert_ptr_null(c.secret);
	ck_assert_ptr_null(c.db);
}
END_TEST

START_TEST(test_empty_env_means_default)
{
	struct test_cfg c;
	clear_env();
	setenv("RFT_NAME", "", 1);
	setenv("RFT_PORT", "", 1);
	load_ok(&c);
	ck_assert_str_eq(c.name, "reel");
	ck_assert_int_eq(c.port, 8080);
	config_release(opts, ARRAY_SIZE(opts), &c);
}
END_TEST

START_TEST(test_required)
{
	static const struct config_option req[] = {
		{ "RFT_NAME", CONFIG_STRING, "x", 0, offsetof(struct test_cfg, name), 0, 0, "a name" },
		{ "RFT_REQ", CONFIG_STRING, NULL, CONFIG_REQUIRED, offsetof(struct test_cfg, db), 0, 0, "needed" },
	};
	struct test_cfg c;
	char err[256] = "";

	clear_env();
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(config_load(req, ARRAY_SIZE(req), &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "RFT_REQ") != NULL, "err does not name the variable: %s", err);
	ck_assert_ptr_null(c.name); /* released on failure */

	setenv("RFT_REQ", "", 1);
	err[0] = '\0';
	ck_assert_int_eq(config_load(req, ARRAY_SIZE(req), &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "RFT_REQ") != NULL, "err: %s", err);

	setenv("RFT_REQ", "here", 1);
	ck_assert_int_eq(config_load(req, ARRAY_SIZE(req), &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.db, "here");
	ck_assert_str_eq(c.name, "x");
	config_release(req, ARRAY_SIZE(req), &c);
}
END_TEST

START_TEST(test_required_satisfied_by_default)
{
	static const struct config_option req[] = {
		{ "RFT_REQ", CONFIG_INT, "7", CONFIG_REQUIRED, offsetof(struct test_cfg, port), 1, 10, "needed" },
	};
	struct test_cfg c;
	char err[256] = "";
	clear_env();
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(config_load(req, ARRAY_SIZE(req), &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.port, 7);
}
END_TEST

START_TEST(test_int_out_of_range)
{
	char err[256];
	clear_env();
	setenv("RFT_NAME", "leak-check", 1); /* loaded before the failure, must be freed */
	setenv("RFT_PORT", "65536", 1);
	load_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "RFT_PORT") && strstr(err, "65536"), "err: %s", err);

	setenv("RFT_PORT", "0", 1);
	load_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "RFT_PORT") && strstr(err, "0"), "err: %s", err);

	setenv("RFT_PORT", "80", 1);
	setenv("RFT_COUNT", "-6", 1);
	load_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "RFT_COUNT") && strstr(err, "-6"), "err: %s", err);
}
END_TEST

START_TEST(test_int_not_numeric)
{
	static const char *const bad[] = { "abc", "12abc", "1.5", "0x10", "99999999999999999999999", "-" };
	char err[256];
	clear_env();
	setenv("RFT_SECRET", "leak-check", 1);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		setenv("RFT_PORT", bad[i], 1);
		load_fails(err, sizeof(err));
		ck_assert_msg(strstr(err, "RFT_PORT") && strstr(err, bad[i]), "for '%s' err: %s", bad[i], err);
	}
}
END_TEST

START_TEST(test_bool_variants)
{
	static const struct {
		const char *text;
		bool want;
	} cases[] = {
		{ "1", true },   { "0", false },  { "true", true }, { "false", false }, { "yes", true },
		{ "no", false }, { "on", true },  { "off", false }, { "TRUE", true },   { "False", false },
		{ "Yes", true }, { "NO", false }, { "oN", true },   { "OFF", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct test_cfg c;
		clear_env();
		setenv("RFT_OTHER", cases[i].text, 1);
		setenv("RFT_FLAG", cases[i].want ? "false" : "true", 1); /* the opposite, to see both fields move */
		load_ok(&c);
		ck_assert_msg(c.other == cases[i].want, "RFT_OTHER=%s", cases[i].text);
		ck_assert_msg(c.flag == !cases[i].want, "RFT_FLAG for %s", cases[i].text);
		config_release(opts, ARRAY_SIZE(opts), &c);
	}
}
END_TEST

START_TEST(test_bool_bad)
{
	static const char *const bad[] = { "maybe", "2", "y", "tru", "enabled", "-1" };
	char err[256];
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		clear_env();
		setenv("RFT_NAME", "leak-check", 1);
		setenv("RFT_FLAG", bad[i], 1);
		load_fails(err, sizeof(err));
		ck_assert_msg(strstr(err, "RFT_FLAG") && strstr(err, bad[i]), "for '%s' err: %s", bad[i], err);
	}
}
END_TEST

START_TEST(test_err_buffer_optional)
{
	struct test_cfg c;
	clear_env();
	setenv("RFT_PORT", "nope", 1);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(config_load(opts, ARRAY_SIZE(opts), &c, NULL, 0), -1);
}
END_TEST

START_TEST(test_log_masks_secret)
{
	struct test_cfg c;
	char *out;
	clear_env();
	setenv("RFT_SECRET", "hunter2-very-secret", 1);
	setenv("RFT_NAME", "visible-name", 1);
	setenv("RFT_PORT", "4242", 1);
	setenv("RFT_OTHER", "on", 1);
	load_ok(&c);
	out = capture_log(opts, ARRAY_SIZE(opts), &c);
	ck_assert_msg(strstr(out, "hunter2") == NULL, "secret leaked: %s", out);
	ck_assert_msg(strstr(out, "RFT_SECRET=****") != NULL, "no mask: %s", out);
	ck_assert_msg(strstr(out, "RFT_NAME=visible-name") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "RFT_PORT=4242") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "RFT_OTHER=true") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "RFT_FLAG=true") != NULL, "%s", out);
	/* One JSON line at info level. */
	ck_assert_msg(out[0] == '{' && strstr(out, "\"level\":\"info\"") != NULL, "%s", out);
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
	free(out);
	config_release(opts, ARRAY_SIZE(opts), &c);
}
END_TEST

START_TEST(test_log_masks_url_password)
{
	struct test_cfg c;
	char *out;
	clear_env();
	setenv("RFT_DB", "postgresql://user:secret@host/db", 1);
	load_ok(&c);
	out = capture_log(opts, ARRAY_SIZE(opts), &c);
	ck_assert_msg(strstr(out, "secret") == NULL, "password leaked: %s", out);
	ck_assert_msg(strstr(out, "RFT_DB=postgresql://user:****@host/db") != NULL, "%s", out);
	free(out);
	config_release(opts, ARRAY_SIZE(opts), &c);
}
END_TEST

START_TEST(test_log_keeps_url_without_password)
{
	struct test_cfg c;
	char *out;
	clear_env();
	setenv("RFT_DB", "postgresql://user@host:5432/db", 1);
	load_ok(&c);
	out = capture_log(opts, ARRAY_SIZE(opts), &c);
	ck_assert_msg(strstr(out, "RFT_DB=postgresql://user@host:5432/db") != NULL, "%s", out);
	free(out);
	config_release(opts, ARRAY_SIZE(opts), &c);
}
END_TEST

START_TEST(test_log_masks_conninfo_password)
{
	struct test_cfg c;
	char *out;
	clear_env();
	setenv("RFT_DB", "host=localhost password=topsecret dbname=reel", 1);
	load_ok(&c);
	out = capture_log(opts, ARRAY_SIZE(opts), &c);
	ck_assert_msg(strstr(out, "topsecret") == NULL, "password leaked: %s", out);
	ck_assert_msg(strstr(out, "password=****") != NULL, "%s", out);
	free(out);
	config_release(opts, ARRAY_SIZE(opts), &c);
}
END_TEST

/* libpq allows white space around '=' in conninfo strings ("password = x"). */
START_TEST(test_log_masks_conninfo_password_spaced)
{
	struct test_cfg c;
	char *out;
	clear_env();
	setenv("RFT_DB", "host=localhost password = topsecret dbname=reel", 1);
	load_ok(&c);
	out = capture_log(opts, ARRAY_SIZE(opts), &c);
	ck_assert_msg(strstr(out, "topsecret") == NULL, "password leaked: %s", out);
	free(out);
	config_release(opts, ARRAY_SIZE(opts), &c);
}
END_TEST

START_TEST(test_log_empty_secret)
{
	struct test_cfg c;
	char *out;
	clear_env();
	load_ok(&c); /* RFT_SECRET unset: NULL */
	out = capture_log(opts, ARRAY_SIZE(opts), &c);
	ck_assert_msg(strstr(out, "RFT_SECRET= ") != NULL, "unset secret should log empty: %s", out);
	free(out);
	config_release(opts, ARRAY_SIZE(opts), &c);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_values_from_env);
	tcase_add_test(tc, test_empty_env_means_default);
	tcase_add_test(tc, test_required);
	tcase_add_test(tc, test_required_satisfied_by_default);
	tcase_add_test(tc, test_int_out_of_range);
	tcase_add_test(tc, test_int_not_numeric);
	tcase_add_test(tc, test_bool_variants);
	tcase_add_test(tc, test_bool_bad);
	tcase_add_test(tc, test_err_buffer_optional);
	tcase_add_test(tc, test_log_masks_secret);
	tcase_add_test(tc, test_log_masks_url_password);
	tcase_add_test(tc, test_log_keeps_url_without_password);
	tcase_add_test(tc, test_log_masks_conninfo_password);
	tcase_add_test(tc, test_log_masks_conninfo_password_spaced);
	tcase_add_test(tc, test_log_empty_secret);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
