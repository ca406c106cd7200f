/*
 * Unit tests for the Kafka message envelope: the exact encoded form of job-
 * and shot-level messages, round trips, message keys, and the refusal (with
 * a message) of everything a hostile or broken producer could send.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "banned.h"

/* Decodes s from a heap copy without NUL; returns the rc and leaves err filled. */
static int decode(const char *s, struct envelope *env, char *err, size_t errlen)
{
	size_t len = strlen(s);
	char *b = malloc(len ? len : 1);
	int rc;
	ck_assert_ptr_nonnull(b);
	memcpy(b, s, len);
	err[0] = '\0';
	rc = envelope_decode(b, len, env, err, errlen);
	free(b);
	return rc;
}

/* Asserts s is refused with an error mentioning want. */
static void refused(const char *s, const char *want)
{
	struct envelope env;
	char err[256];
	ck_assert_msg(decode(s, &env, err, sizeof(err)) == -1, "accepted: %s", s);
	ck_assert_msg(err[0] != '\0', "no message for: %s", s);
	ck_assert_msg(strstr(err, want) != NULL, "for %s: err '%s' lacks '%s'", s, err, want);
}

static void accepted(const char *s, struct envelope *env)
{
	char err[256];
	ck_assert_msg(decode(s, env, err, sizeof(err)) == 0, "refused %s: %s", s, err);
}

START_TEST(test_encode_job_level)
{
	struct envelope env = { .job = "0b7e-42_AZ", .shot = -1, .attempt = 3, .trace = "abc123" };
	char out[256];
	int n = envelope_encode(&env, out, sizeof(out));
	ck_assert_str_eq(out, "{\"v\":1,\"job\":\"0b7e-42_AZ\",\"attempt\":3,\"trace\":\"abc123\"}");
	ck_assert_int_eq(n, (int)strlen(out));
}
END_TEST

START_TEST(test_encode_shot_level)
{
	struct envelope env = { .job = "j1", .shot = 7, .attempt = 1, .trace = "t" };
	char out[256];
	int n = envelope_encode(&env, out, sizeof(out));
	ck_assert_str_eq(out, "{\"v\":1,\"job\":\"j1\",\"shot\":7,\"attempt\":1,\"trace\":\"t\"}");
	ck_assert_int_eq(n, (int)strlen(out));

	env.shot = 0; /* shot 0 is a shot, not a job-level message */
	ck_assert_int_gt(envelope_encode(&env, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"shot\":0"));
}
END_TEST

START_TEST(test_round_trip)
{
	static const struct envelope cases[] = {
		{ .job = "6f1c2b3a-0000-4e5f-9abc-def012345678",
		  .shot = -1,
		  .attempt = 1,
		  .trace = "9f86d081884c7d65" },
		{ .job = "6f1c2b3a-0000-4e5f-9abc-def012345678", .shot = 0, .attempt = 2, .trace = "tr" },
		{ .job = "J", .shot = 59, .attempt = 1000, .trace = "x-y_z" },
		{ .job = "J", .shot = 100000, .attempt = 1, .trace = "t" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct envelope got;
		char out[256], err[256] = "";
		int n = envelope_encode(&cases[i], out, sizeof(out));
		ck_assert_int_gt(n, 0);
		memset(&got, 0x5a, sizeof(got));
		ck_assert_msg(envelope_decode(out, (size_t)n, &got, err, sizeof(err)) == 0, "%s: %s", out, err);
		ck_assert_str_eq(got.job, cases[i].job);
		ck_assert_int_eq(got.shot, cases[i].shot);
		ck_assert_int_eq(got.attempt, cases[i].attempt);
		ck_assert_str_eq(got.trace, cases[i].trace);
	}
}
END_TEST

START_TEST(test_decode_defaults)
{
	struct envelope env;
	accepted("{\"v\":1,\"job\":\"abc\"}", &env);
	ck_assert_str_eq(env.job, "abc");
	ck_assert_int_eq(env.shot, -1);
	ck_assert_int_eq(env.attempt, 1);
	ck_assert_str_eq(env.trace, "");

	accepted(" {\"trace\":\"T1\",\"shot\":4,\"job\":\"abc\",\"v\":1,\"extra\":[1]} \n", &env);
	ck_assert_int_eq(env.shot, 4);
	ck_assert_str_eq(env.trace, "T1");
}
END_TEST

/* A stage forwards the envelope it received (worker_emit): a message that came
 * without a trace must still produce a message the next stage accepts. */
START_TEST(test_forward_without_trace)
{
	struct envelope env;
	char out[256], err[256] = "";
	int n;
	accepted("{\"v\":1,\"job\":\"abc\",\"shot\":2}", &env);
	n = envelope_encode(&env, out, sizeof(out));
	ck_assert_int_gt(n, 0);
	ck_assert_msg(envelope_decode(out, (size_t)n, &env, err, sizeof(err)) == 0, "re-encoded message %s refused: %s",
		      out, err);
	ck_assert_str_eq(env.job, "abc");
	ck_assert_int_eq(env.shot, 2);
}
END_TEST

START_TEST(test_key)
{
	struct envelope env = { .job = "6f1c2b3a-0000-4e5f", .shot = -1, .attempt = 1, .trace = "t" };
	char key[96];
	envelope_key(&env, key, sizeof(key));
	ck_assert_str_eq(key, "6f1c2b3a-0000-4e5f");
	env.shot = 0;
	envelope_key(&env, key, sizeof(key));
	ck_assert_str_eq(key, "6f1c2b3a-0000-4e5f:0");
	env.shot = 12;
	envelope_key(&env, key, sizeof(key));
	ck_assert_str_eq(key, "6f1c2b3a-0000-4e5f:12");
	/* Truncated, still terminated, when the buffer is short. */
	memset(key, 'x', sizeof(key));
	envelope_key(&env, key, 5);
	ck_assert_str_eq(key, "6f1c");
}
END_TEST

START_TEST(test_not_json)
{
	refused("not json", "JSON");
	refused("{\"v\":1,\"job\":\"a\"", "JSON");
	refused("{\"v\":1,\"job\":\"a\"} trailing", "JSON");
}
END_TEST

START_TEST(test_not_object)
{
	refused("[1,2]", "object");
	refused("\"job\"", "object");
	refused("1", "object");
	refused("null", "object");
}
END_TEST

START_TEST(test_version)
{
	refused("{\"job\":\"a\"}", "version");
	refused("{\"v\":2,\"job\":\"a\"}", "version");
	refused("{\"v\":0,\"job\":\"a\"}", "version");
	refused("{\"v\":\"1\",\"job\":\"a\"}", "version");
	refused("{\"v\":1.5,\"job\":\"a\"}", "version");
	refused("{\"v\":null,\"job\":\"a\"}", "version");
}
END_TEST

START_TEST(test_job_missing_or_bad)
{
	refused("{\"v\":1}", "job");
	refused("{\"v\":1,\"job\":5}", "job");
	refused("{\"v\":1,\"job\":null}", "job");
	refused("{\"v\":1,\"job\":\"\"}", "job");
	refused("{\"v\":1,\"job\":\"a\\\"b\"}", "job");
	refused("{\"v\":1,\"job\":\"a b\"}", "job");
	refused("{\"v\":1,\"job\":\"a/b\"}", "job");
	refused("{\"v\":1,\"job\":\"../x\"}", "job");
	refused("{\"v\":1,\"job\":\"a:1\"}", "job");
	refused("{\"v\":1,\"job\":\"a\\nb\"}", "job");
	refused("{\"v\":1,\"job\":\"caf\\u00e9\"}", "job");
}
END_TEST

START_TEST(test_job_length)
{
	char id[80], msg[200];
	struct envelope env;
	memset(id, 'a', sizeof(id));
	id[ENVELOPE_ID_MAX - 1] = '\0'; /* 63 characters: the longest that fits */
	snprintf(msg, sizeof(msg), "{\"v\":1,\"job\":\"%s\"}", id);
	accepted(msg, &env);
	ck_assert_uint_eq(strlen(env.job), ENVELOPE_ID_MAX - 1);
	ck_assert_str_eq(env.job, id);

	memset(id, 'a', sizeof(id));
	id[ENVELOPE_ID_MAX] = '\0'; /* 64 */
	snprintf(msg, sizeof(msg), "{\"v\":1,\"job\":\"%s\"}", id);
	refused(msg, "job");
	id[ENVELOPE_ID_MAX] = 'a';
	id[ENVELOPE_ID_MAX + 10] = '\0'; /* 74 */
	snprintf(msg, sizeof(msg), "{\"v\":1,\"job\":\"%s\"}", id);
	refused(msg, "job");
}
END_TEST

START_TEST(test_shot_bad)
{
	refused("{\"v\":1,\"job\":\"a\",\"shot\":-1}", "shot");
	refused("{\"v\":1,\"job\":\"a\",\"shot\":-5}", "shot");
	refused("{\"v\":1,\"job\":\"a\",\"shot\":1.5}", "shot");
	refused("{\"v\":1,\"job\":\"a\",\"shot\":\"2\"}", "shot");
	refused("{\"v\":1,\"job\":\"a\",\"shot\":null}", "shot");
	refused("{\"v\":1,\"job\":\"a\",\"shot\":1e12}", "shot");
	refused("{\"v\":1,\"job\":\"a\",\"shot\":100001}", "shot");
}
END_TEST

START_TEST(test_attempt_bad)
{
	refused("{\"v\":1,\"job\":\"a\",\"attempt\":0}", "attempt");
	refused("{\"v\":1,\"job\":\"a\",\"attempt\":-1}", "attempt");
	refused("{\"v\":1,\"job\":\"a\",\"attempt\":1.5}", "attempt");
	refused("{\"v\":1,\"job\":\"a\",\"attempt\":\"1\"}", "attempt");
	refused("{\"v\":1,\"job\":\"a\",\"attempt\":1001}", "attempt");
	refused("{\"v\":1,\"job\":\"a\",\"attempt\":1e300}", "attempt");
}
END_TEST

START_TEST(test_trace_bad)
{
	char msg[200], id[80];
	refused("{\"v\":1,\"job\":\"a\",\"trace\":\"has space\"}", "trace");
	refused("{\"v\":1,\"job\":\"a\",\"trace\":\"q\\\"uote\"}", "trace");
	refused("{\"v\":1,\"job\":\"a\",\"trace\":\"sl/ash\"}", "trace");
	memset(id, 't', sizeof(id));
	id[ENVELOPE_ID_MAX] = '\0';
	snprintf(msg, sizeof(msg), "{\"v\":1,\"job\":\"a\",\"trace\":\"%s\"}", id);
	refused(msg, "trace");
}
END_TEST

START_TEST(test_empty_buffer)
{
	struct envelope env;
	char err[256] = "";
	ck_assert_int_eq(envelope_decode("", 0, &env, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	err[0] = '\0';
	ck_assert_int_eq(envelope_decode(NULL, 0, &env, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	/* A NULL err buffer is allowed. */
	ck_assert_int_eq(envelope_decode("x", 1, &env, NULL, 0), -1);
}
END_TEST

START_TEST(test_encode_too_small)
{
	struct envelope env = { .job = "job-1", .shot = 3, .attempt = 1, .trace = "t" };
	char out[256];
	int n = envelope_encode(&env, out, sizeof(out));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(envelope_encode(&env, out, (size_t)n + 1), n); /* exactly fits with its NUL */
	ck_assert_int_eq(envelope_encode(&env, out, (size_t)n), -1);
	ck_assert_int_eq(envelope_encode(&env, out, 10), -1);
	ck_assert_int_eq(envelope_encode(&env, out, 1), -1);
	env.shot = -1;
	ck_assert_int_eq(envelope_encode(&env, out, 10), -1);
}
END_TEST

static Suite *envelope_suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_encode_job_level);
	tcase_add_test(tc, test_encode_shot_level);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_decode_defaults);
	tcase_add_test(tc, test_forward_without_trace);
	tcase_add_test(tc, test_key);
	tcase_add_test(tc, test_not_json);
	tcase_add_test(tc, test_not_object);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_job_missing_or_bad);
	tcase_add_test(tc, test_job_length);
	tcase_add_test(tc, test_shot_bad);
	tcase_add_test(tc, test_attempt_bad);
	tcase_add_test(tc, test_trace_bad);
	tcase_add_test(tc, test_empty_buffer);
	tcase_add_test(tc, test_encode_too_small);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(envelope_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
