/*
 * Unit tests for the validation of POST /v1/jobs bodies: what a valid body
 * becomes, and for each kind of bad body the status, problem type and field
 * the client is told about. ASan checks that refusals leak nothing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_request.h"
#include "json.h"
#include "banned.h"

/* Parses s from a heap copy without NUL. */
static int parse(const char *s, struct job_request *rq, struct api_problem *p)
{
	size_t len = strlen(s);
	char *b = malloc(len ? len : 1);
	int rc;
	ck_assert_ptr_nonnull(b);
	memcpy(b, s, len);
	rc = job_request_parse(b, len, rq, p);
	free(b);
	return rc;
}

static void parse_ok(const char *s, struct job_request *rq)
{
	struct api_problem p;
	ck_assert_msg(parse(s, rq, &p) == 0, "refused %s: %d %s %s", s, p.status, p.field, p.detail);
	ck_assert_ptr_nonnull(rq->template);
	ck_assert_ptr_nonnull(rq->input);
	ck_assert_ptr_nonnull(rq->options);
}

/* Asserts s is refused with status, type and field. */
static void refused(const char *s, int status, const char *type, const char *field, struct api_problem *p)
{
	struct job_request rq;
	ck_assert_msg(parse(s, &rq, p) == -1, "accepted %s", s);
	ck_assert_msg(p->status == status, "%s: status %d, want %d", s, p->status, status);
	ck_assert_ptr_nonnull(p->type);
	ck_assert_msg(strcmp(p->type, type) == 0, "%s: type %s, want %s", s, p->type, type);
	ck_assert_msg(strcmp(p->field, field) == 0, "%s: field '%s', want '%s'", s, p->field, field);
	ck_assert_ptr_nonnull(p->title);
	ck_assert_msg(p->detail[0] != '\0', "%s: no detail", s);
	/* Nothing is left owned by a refused request. */
	ck_assert_ptr_null(rq.template);
	ck_assert_ptr_null(rq.input);
	ck_assert_ptr_null(rq.options);
}

static void invalid(const char *s, const char *field)
{
	struct api_problem p;
	refused(s, 422, "invalid-field", field, &p);
}

/* A body whose input.text is n bytes of c (caller frees). */
static char *body_with_text(size_t n, char c)
{
	static const char head[] = "{\"template\":\"storyboard\",\"input\":{\"text\":\"";
	static const char tail[] = "\"}}";
	size_t len = sizeof(head) - 1 + n + sizeof(tail) - 1;
	char *b = malloc(len + 1);
	ck_assert_ptr_nonnull(b);
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, c, n);
	memcpy(b + sizeof(head) - 1 + n, tail, sizeof(tail));
	return b;
}

START_TEST(test_minimal)
{
	struct job_request rq;
	parse_ok("{\"template\":\"storyboard\",\"input\":{\"text\":\"Once upon a time.\"}}", &rq);
	ck_assert_str_eq(rq.template, "storyboard");
	ck_assert_str_eq(json_str(rq.input, "text"), "Once upon a time.");
	ck_assert(cJSON_IsObject(rq.options));
	ck_assert_ptr_null(json_str(rq.options, "aspect_ratio"));
	job_request_release(&rq);
	ck_assert_ptr_null(rq.template);
	ck_assert_ptr_null(rq.input);
	ck_assert_ptr_null(rq.options);
}
END_TEST

START_TEST(test_options_copied)
{
	struct job_request rq;
	long n = 0;
	parse_ok("{\"template\":\"storyboard\",\"input\":{\"text\":\"A fox.\"},"
		 "\"options\":{\"aspect_ratio\":\"16:9\",\"resolution\":\"720p\",\"language\":\"en-US\","
		 "\"voice\":\"alloy\",\"style\":\"watercolor, soft light\",\"max_shots\":12}}",
		 &rq);
	ck_assert_str_eq(json_str(rq.input, "text"), "A fox.");
	ck_assert_str_eq(json_str(rq.options, "aspect_ratio"), "16:9");
	ck_assert_str_eq(json_str(rq.options, "resolution"), "720p");
	ck_assert_str_eq(json_str(rq.options, "language"), "en-US");
	ck_assert_str_eq(json_str(rq.options, "voice"), "alloy");
	ck_assert_str_eq(json_str(rq.options, "style"), "watercolor, soft light");
	ck_assert_int_eq(json_int(rq.options, "max_shots", &n), 0);
	ck_assert_int_eq(n, 12);
	job_request_release(&rq);
}
END_TEST

START_TEST(test_options_null_and_empty)
{
	struct job_request rq;
	parse_ok("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":null}", &rq);
	job_request_release(&rq);
	parse_ok("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{}}", &rq);
	job_request_release(&rq);
	parse_ok("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"voice\":null}}", &rq);
	ck_assert_ptr_null(json_str(rq.options, "voice"));
	job_request_release(&rq);
}
END_TEST

START_TEST(test_max_shots_bounds)
{
	struct job_request rq;
	long n = 0;
	parse_ok("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"max_shots\":1}}", &rq);
	ck_assert_int_eq(json_int(rq.options, "max_shots", &n), 0);
	ck_assert_int_eq(n, 1);
	job_request_release(&rq);
	parse_ok("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"max_shots\":60}}", &rq);
	ck_assert_int_eq(json_int(rq.options, "max_shots", &n), 0);
	ck_assert_int_eq(n, 60);
	job_request_release(&rq);
	parse_ok("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"max_shots\":5.0}}", &rq);
	job_request_release(&rq);
}
END_TEST

START_TEST(test_invalid_json)
{
	struct api_problem p;
	refused("{\"template\":", 400, "invalid-json", "", &p);
	refused("not json at all", 400, "invalid-json", "", &p);
	refused("{\"template\":\"storyboard\"} {}", 400, "invalid-json", "", &p);
	refused("", 400, "invalid-json", "", &p);
}
END_TEST

START_TEST(test_not_object)
{
	struct api_problem p;
	refused("[{\"template\":\"storyboard\"}]", 400, "invalid-json", "", &p);
	refused("\"storyboard\"", 400, "invalid-json", "", &p);
	refused("42", 400, "invalid-json", "", &p);
	refused("null", 400, "invalid-json", "", &p);
}
END_TEST

START_TEST(test_template)
{
	struct api_problem p;
	invalid("{\"input\":{\"text\":\"x\"}}", "template");
	invalid("{\"template\":5,\"input\":{\"text\":\"x\"}}", "template");
	invalid("{\"template\":null,\"input\":{\"text\":\"x\"}}", "template");
	invalid("{\"template\":\"Storyboard\",\"input\":{\"text\":\"x\"}}", "template");
	refused("{\"template\":\"slideshow\",\"input\":{\"text\":\"x\"}}", 422, "invalid-field", "template", &p);
	ck_assert_msg(strstr(p.detail, "slideshow") != NULL, "detail does not name it: %s", p.detail);
}
END_TEST

START_TEST(test_input)
{
	invalid("{\"template\":\"storyboard\"}", "input");
	invalid("{\"template\":\"storyboard\",\"input\":\"text\"}", "input");
	invalid("{\"template\":\"storyboard\",\"input\":[\"x\"]}", "input");
	invalid("{\"template\":\"storyboard\",\"input\":null}", "input");
}
END_TEST

START_TEST(test_text)
{
	invalid("{\"template\":\"storyboard\",\"input\":{}}", "input.text");
	struct api_problem p;
	refused("{\"template\":\"storyboard\",\"input\":{\"txt\":\"x\"}}", 422, "unknown-field", "input.txt", &p);
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":5}}", "input.text");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":null}}", "input.text");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":[\"a\"]}}", "input.text");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"\"}}", "input.text");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"   \"}}", "input.text");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\" \\n\\t\\r \\n\"}}", "input.text");
}
END_TEST

START_TEST(test_text_size_limit)
{
	struct job_request rq;
	struct api_problem p;
	char *b = body_with_text(JOB_TEXT_MAX, 'a');
	parse_ok(b, &rq);
	ck_assert_uint_eq(strlen(json_str(rq.input, "text")), JOB_TEXT_MAX);
	job_request_release(&rq);
	free(b);

	b = body_with_text(JOB_TEXT_MAX + 1, 'a');
	refused(b, 413, "too-large", "input.text", &p);
	free(b);

	/* Too large and blank: the size is what the client hears about. */
	b = body_with_text(JOB_TEXT_MAX * 3, ' ');
	refused(b, 413, "too-large", "input.text", &p);
	free(b);
}
END_TEST

START_TEST(test_aspect_ratio)
{
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"aspect_ratio\":\"2:1\"}}",
		"options.aspect_ratio");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"aspect_ratio\":\"\"}}",
		"options.aspect_ratio");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"aspect_ratio\":1.77}}",
		"options.aspect_ratio");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},"
		"\"options\":{\"aspect_ratio\":\"9:16-is-far-too-long\"}}",
		"options.aspect_ratio");
}
END_TEST

START_TEST(test_resolution)
{
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"resolution\":\"4k\"}}",
		"options.resolution");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"resolution\":1080}}",
		"options.resolution");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"resolution\":\"1080\"}}",
		"options.resolution");
}
END_TEST

START_TEST(test_max_shots_bad)
{
	static const char *const bad[] = { "0", "61", "1.5", "\"3\"", "-1", "true", "1e9", "[]" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char body[256];
		snprintf(body, sizeof(body),
			 "{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"max_shots\":%s}}",
			 bad[i]);
		invalid(body, "options.max_shots");
	}
}
END_TEST

START_TEST(test_other_options_bad)
{
	char body[1024], style[600];
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":[]}", "options");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":\"16:9\"}", "options");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"voice\":7}}", "options.voice");
	invalid("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"language\":{}}}",
		"options.language");
	memset(style, 's', 501);
	style[501] = '\0';
	snprintf(body, sizeof(body),
		 "{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{\"style\":\"%s\"}}", style);
	invalid(body, "options.style");
}
END_TEST

START_TEST(test_first_fault_reported)
{
	/* With several faults, the template is checked first, then input, then options. */
	invalid("{\"template\":\"nope\",\"input\":5,\"options\":{\"max_shots\":0}}", "template");
	invalid("{\"template\":\"storyboard\",\"input\":5,\"options\":{\"max_shots\":0}}", "input");
}
END_TEST

#define OPTS(o) "{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"options\":{" o "}}"

START_TEST(test_templates)
{
	struct job_request rq;
	parse_ok("{\"template\":\"script\",\"input\":{\"text\":\"INT. KITCHEN - NIGHT\\nANNA: Hello.\"}}", &rq);
	ck_assert_str_eq(rq.template, "script");
	ck_assert_ptr_nonnull(strstr(json_str(rq.input, "text"), "ANNA"));
	job_request_release(&rq);
	parse_ok(
		"{\"template\":\"demo\",\"input\":{\"url\":\"https://example.com/app\",\"description\":\"A todo app.\"}}",
		&rq);
	ck_assert_str_eq(rq.template, "demo");
	ck_assert_str_eq(json_str(rq.input, "url"), "https://example.com/app");
	ck_assert_str_eq(json_str(rq.input, "description"), "A todo app.");
	job_request_release(&rq);
}
END_TEST

START_TEST(test_demo_input)
{
	struct api_problem p;
	invalid("{\"template\":\"demo\",\"input\":{\"description\":\"A todo app.\"}}", "input.url");
	invalid("{\"template\":\"demo\",\"input\":{\"url\":\"ftp://example.com\",\"description\":\"d\"}}", "input.url");
	invalid("{\"template\":\"demo\",\"input\":{\"url\":\"https://\",\"description\":\"d\"}}", "input.url");
	invalid("{\"template\":\"demo\",\"input\":{\"url\":\"https://a b\",\"description\":\"d\"}}", "input.url");
	invalid("{\"template\":\"demo\",\"input\":{\"url\":5,\"description\":\"d\"}}", "input.url");
	invalid("{\"template\":\"demo\",\"input\":{\"url\":\"https://example.com\"}}", "input.description");
	invalid("{\"template\":\"demo\",\"input\":{\"url\":\"https://example.com\",\"description\":\" \"}}",
		"input.description");
	/* A demo has no text, and a story no url. */
	refused("{\"template\":\"demo\",\"input\":{\"text\":\"x\"}}", 422, "unknown-field", "input.text", &p);
	refused("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\",\"url\":\"https://example.com\"}}", 422,
		"unknown-field", "input.url", &p);
}
END_TEST

START_TEST(test_all_options)
{
	struct job_request rq;
	long n = 0;
	parse_ok(
		OPTS("\"aspect_ratio\":\"4:5\",\"resolution\":\"1080p\",\"language\":\"zh-Hans-CN\",\"voice\":\"v\","
		     "\"style\":\"ink\",\"max_shots\":60,\"review\":true,\"subtitles\":\"burn\",\"music\":\"calm\","
		     "\"transition\":\"slideleft\",\"transition_ms\":2000,\"motion\":\"i2v\","
		     "\"providers\":{\"parse\":\"openai\",\"render\":\"fal\",\"tts\":\"espeak\",\"merge\":\"offline\"},"
		     "\"webhook_url\":\"https://hooks.example.com/reel?x=1\""),
		&rq);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(rq.options, "review")));
	ck_assert_str_eq(json_str(rq.options, "subtitles"), "burn");
	ck_assert_str_eq(json_str(rq.options, "music"), "calm");
	ck_assert_str_eq(json_str(rq.options, "transition"), "slideleft");
	ck_assert_int_eq(json_int(rq.options, "transition_ms", &n), 0);
	ck_assert_int_eq(n, 2000);
	ck_assert_str_eq(json_str(rq.options, "motion"), "i2v");
	ck_assert_str_eq(json_str(cJSON_GetObjectItem(rq.options, "providers"), "render"), "fal");
	ck_assert_str_eq(json_str(rq.options, "webhook_url"), "https://hooks.example.com/reel?x=1");
	ck_assert_str_eq(json_str(rq.options, "language"), "zh-Hans-CN");
	job_request_release(&rq);
	/* music: a bundled track, an upload reference or a storage key, nothing else. */
	parse_ok(OPTS("\"music\":\"media/theme.mp3\""), &rq);
	job_request_release(&rq);
	parse_ok(OPTS("\"music\":\"upload:0b6f3a6e-5a53-4f0e-9d3c-1d2e3f4a5b6c\""), &rq);
	ck_assert_str_eq(json_str(rq.options, "music"), "upload:0b6f3a6e-5a53-4f0e-9d3c-1d2e3f4a5b6c");
	job_request_release(&rq);
	/* Uploads' objects are reached only through a reference, which checks their owner. */
	invalid(OPTS("\"music\":\"uploads/0b6f3a6e-5a53-4f0e-9d3c-1d2e3f4a5b6c\""), "options.music");
	invalid(OPTS("\"music\":\"lofi\""), "options.music");
	invalid(OPTS("\"music\":\"../etc/passwd\""), "options.music");
	/* music null is kept: no music, on purpose. */
	parse_ok(OPTS("\"music\":null,\"transition_ms\":100"), &rq);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(rq.options, "music")));
	job_request_release(&rq);
}
END_TEST

START_TEST(test_options_each_bad)
{
	static const struct {
		const char *body, *field;
	} cases[] = {
		{ OPTS("\"language\":\"english language\""), "options.language" },
		{ OPTS("\"language\":\"e\""), "options.language" },
		{ OPTS("\"language\":\"en-\""), "options.language" },
		{ OPTS("\"language\":\"12\""), "options.language" },
		{ OPTS("\"language\":\"en-aaaaaaaaa\""), "options.language" },
		{ OPTS("\"language\":\"en-US-aaaaaaaa-bbbbbbbb-cccccccc-dddd\""), "options.language" },
		{ OPTS("\"review\":\"yes\""), "options.review" },
		{ OPTS("\"review\":1"), "options.review" },
		{ OPTS("\"subtitles\":\"on\""), "options.subtitles" },
		{ OPTS("\"music\":5"), "options.music" },
		{ OPTS("\"transition\":\"zoom\""), "options.transition" },
		{ OPTS("\"transition_ms\":99"), "options.transition_ms" },
		{ OPTS("\"transition_ms\":2001"), "options.transition_ms" },
		{ OPTS("\"transition_ms\":500.5"), "options.transition_ms" },
		{ OPTS("\"transition_ms\":1e300"), "options.transition_ms" },
		{ OPTS("\"motion\":\"video\""), "options.motion" },
		{ OPTS("\"providers\":\"fal\""), "options.providers" },
		{ OPTS("\"providers\":{\"render\":5}"), "options.providers.render" },
		{ OPTS("\"providers\":{\"render\":\"Fal AI\"}"), "options.providers.render" },
		{ OPTS("\"providers\":{\"render\":\"\"}"), "options.providers.render" },
		{ OPTS("\"providers\":{\"render\":\"midjourney\"}"), "options.providers.render" },
		{ OPTS("\"providers\":{\"tts\":\"anthropic\"}"), "options.providers.tts" },
		{ OPTS("\"webhook_url\":\"javascript:alert(1)\""), "options.webhook_url" },
		{ OPTS("\"webhook_url\":\"http://\""), "options.webhook_url" },
		{ OPTS("\"webhook_url\":\"https://a.example/\\u0001x\""), "options.webhook_url" },
		{ OPTS("\"webhook_url\":true"), "options.webhook_url" },
		{ OPTS("\"aspect_ratio\":\"9:16\",\"aspect_ratio\":\"16:9\""), "options.aspect_ratio" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		invalid(cases[i].body, cases[i].field);
}
END_TEST

START_TEST(test_long_strings)
{
	char body[4096], s[2100];
	memset(s, 'a', 129);
	s[129] = '\0';
	snprintf(body, sizeof(body), OPTS("\"voice\":\"%s\""), s);
	invalid(body, "options.voice");
	memset(s, 'a', 36);
	s[2] = '-';
	s[36] = '\0';
	snprintf(body, sizeof(body), OPTS("\"language\":\"%s\""), s);
	invalid(body, "options.language");
	memcpy(s, "https://", 8);
	memset(s + 8, 'a', 2041);
	s[2049] = '\0';
	snprintf(body, sizeof(body), OPTS("\"webhook_url\":\"%s\""), s);
	invalid(body, "options.webhook_url");
}
END_TEST

START_TEST(test_unknown_fields)
{
	struct api_problem p;
	refused("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\"},\"priority\":1}", 422, "unknown-field",
		"priority", &p);
	ck_assert_ptr_nonnull(strstr(p.detail, "priority"));
	refused("{\"template\":\"storyboard\",\"input\":{\"text\":\"x\",\"title\":\"t\"}}", 422, "unknown-field",
		"input.title", &p);
	refused(OPTS("\"fps\":30"), 422, "unknown-field", "options.fps", &p);
	refused(OPTS("\"providers\":{\"llm\":\"openai\"}"), 422, "unknown-field", "options.providers.llm", &p);
	/* The template is checked first: it decides which input fields exist. */
	invalid("{\"template\":\"x\",\"input\":{\"text\":\"x\"},\"priority\":1}", "template");
}
END_TEST

static Suite *job_request_suite(void)
{
	Suite *s = suite_create("job_request");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_minimal);
	tcase_add_test(tc, test_options_copied);
	tcase_add_test(tc, test_options_null_and_empty);
	tcase_add_test(tc, test_max_shots_bounds);
	tcase_add_test(tc, test_invalid_json);
	tcase_add_test(tc, test_not_object);
	tcase_add_test(tc, test_template);
	tcase_add_test(tc, test_input);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_text_size_limit);
	tcase_add_test(tc, test_aspect_ratio);
	tcase_add_test(tc, test_resolution);
	tcase_add_test(tc, test_max_shots_bad);
	tcase_add_test(tc, test_other_options_bad);
	tcase_add_test(tc, test_first_fault_reported);
	tcase_add_test(tc, test_templates);
	tcase_add_test(tc, test_demo_input);
	tcase_add_test(tc, test_all_options);
	tcase_add_test(tc, test_options_each_bad);
	tcase_add_test(tc, test_long_strings);
	tcase_add_test(tc, test_unknown_fields);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(job_request_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
