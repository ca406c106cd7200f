/*
 * Unit tests for parse-worker's storyboard validation: a valid answer is
 * taken whole; every kind of violation of the schema and the job's limits
 * is reported in words, all at once; looks and style end up in the prompts;
 * prompt templates fill their placeholders and nothing else.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "parse_config.h"
#include "storyboard.h"
#include "banned.h"

static const char valid[] =
	"{\"title\":\"The Lighthouse\",\"language\":\"en\","
	"\"characters\":[{\"name\":\"Mara\",\"look\":\"a tall woman in a red coat\",\"voice\":null},"
	"{\"name\":\"Tom\",\"look\":\"a boy with a yellow raincoat\",\"voice\":\"young\"}],"
	"\"shots\":[{\"prompt\":\"Mara opens a heavy door at dawn\",\"narration\":\"Mara opened the door.\","
	"\"speaker\":null,\"duration_s\":4.5,\"camera\":\"zoom_in\"},"
	"{\"prompt\":\"A boat near the rocks\",\"narration\":\"Hello, Mara!\",\"speaker\":\"Tom\","
	"\"duration_s\":2,\"camera\":null},"
	"{\"prompt\":\"The lamp shines over the sea\",\"narration\":\"The light came back.\","
	"\"speaker\":null,\"duration_s\":15}]}";

static const struct storyboard_limits limits12 = { 12, NULL };

/* True when some error line contains needle. */
static int has_error(const struct storyboard_errors *e, const char *needle)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->v[i], needle))
			return 1;
	return 0;
}

static struct storyboard_errors invalid(const char *text, const struct storyboard_limits *lim)
{
	struct storyboard sb;
	struct storyboard_errors e;
	ck_assert_int_eq(storyboard_parse(text, strlen(text), lim, &sb, &e), -1);
	ck_assert_uint_gt(e.n, 0);
	ck_assert_uint_eq(sb.n_shots, 0);
	ck_assert_ptr_null(sb.title);
	return e;
}

START_TEST(test_valid)
{
	struct storyboard sb;
	struct storyboard_errors e;
	ck_assert_int_eq(storyboard_parse(valid, strlen(valid), &limits12, &sb, &e), 0);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_str_eq(sb.title, "The Lighthouse");
	ck_assert_str_eq(sb.language, "en");
	ck_assert_uint_eq(sb.n_characters, 2);
	ck_assert_ptr_null(sb.characters[0].voice);
	ck_assert_str_eq(sb.characters[1].voice, "young");
	ck_assert_uint_eq(sb.n_shots, 3);
	ck_assert_int_eq(sb.shots[0].duration_ms, 4500);
	ck_assert_str_eq(sb.shots[0].camera, "zoom_in");
	ck_assert_ptr_null(sb.shots[1].camera);
	ck_assert_ptr_null(sb.shots[2].camera); /* absent is null */
	ck_assert_str_eq(sb.shots[1].speaker, "Tom");
	ck_assert_ptr_null(sb.shots[0].speaker);
	storyboard_release(&sb);
}
END_TEST

START_TEST(test_not_json)
{
	struct storyboard_errors e = invalid("{\"title\": \"Broken\", \"shots\": [ {\"prompt\": \"a", &limits12);
	ck_assert(has_error(&e, "not valid JSON"));
	storyboard_errors_release(&e);
	e = invalid("", &limits12);
	ck_assert(has_error(&e, "empty"));
	storyboard_errors_release(&e);
	e = invalid("[1,2]", &limits12);
	ck_assert(has_error(&e, "one JSON object"));
	storyboard_errors_release(&e);
}
END_TEST

START_TEST(test_every_violation_listed)
{
	static const char text[] =
		"{\"title\":\"\",\"language\":\"english language\",\"extra\":1,"
		"\"characters\":[{\"name\":\"Mara\",\"look\":\"x\"},{\"name\":\"mara\",\"look\":\"y\",\"voice\":3}],"
		"\"shots\":[{\"prompt\":\"ok\",\"narration\":\"\",\"speaker\":null,\"duration_s\":40,\"camera\":\"dolly\"},"
		"{\"prompt\":\"一个女人站在灯塔里看着大海\",\"narration\":\"n\",\"duration_s\":\"long\",\"mood\":\"sad\"},"
		"{\"narration\":\"n\",\"duration_s\":3}, 7]}";
	struct storyboard_errors e = invalid(text, &limits12);
	const char *expect[] = {
		"storyboard.title is empty",
		"language \"english language\" is not a BCP-47 tag",
		"storyboard: unknown property \"extra\"",
		"characters[1].name \"mara\" is used twice",
		"characters[1].voice must be a string or null",
		"shots[0].narration is empty",
		"shots[0].duration_s is 40",
		"shots[0].camera \"dolly\" is not one of",
		"shots[1].prompt must be written in English",
		"shots[1].duration_s must be a number",
		"shots[1]: unknown property \"mood\"",
		"shots[2].prompt is missing",
		"shots[3] must be an object",
	};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		ck_assert_msg(has_error(&e, expect[i]), "missing error: %s", expect[i]);
	char *joined = storyboard_errors_text(&e);
	ck_assert_ptr_nonnull(strstr(joined, "; shots[0].narration is empty"));
	free(joined);
	storyboard_errors_release(&e);
}
END_TEST

START_TEST(test_limits)
{
	struct storyboard_limits two = { 2, NULL }, chinese = { 12, "zh-CN" }, english = { 12, "en-GB" };
	struct storyboard_errors e = invalid(valid, &two);
	ck_assert(has_error(&e, "shots has 3 entries but the job allows at most 2 (max_shots)"));
	storyboard_errors_release(&e);
	e = invalid(valid, &chinese);
	ck_assert(has_error(&e, "language is \"en\" but the job asks for \"zh-CN\""));
	storyboard_errors_release(&e);
	struct storyboard sb;
	ck_assert_int_eq(storyboard_parse(valid, strlen(valid), &english, &sb, &e), 0); /* primary subtags match */
	storyboard_release(&sb);
	char *long_title = malloc(400);
	memset(long_title, 'a', 399);
	long_title[399] = '\0';
	char *text = xasprintf("{\"title\":\"%s\",\"language\":\"en\",\"characters\":[],\"shots\":[]}", long_title);
	e = invalid(text, &limits12);
	ck_assert(has_error(&e, "storyboard.title is 399 characters long; at most 200"));
	ck_assert(has_error(&e, "shots is empty"));
	storyboard_errors_release(&e);
	free(text);
	free(long_title);
}
END_TEST

START_TEST(test_many_errors_capped)
{
	char *text = xstrdup("{\"title\":\"t\",\"language\":\"en\",\"characters\":[],\"shots\":[");
	for (int i = 0; i < 40; i++) {
		char *next = xasprintf("%s%s{\"prompt\":\"p\",\"narration\":\"n\",\"duration_s\":99}", text,
				       i ? "," : "");
		free(text);
		text = next;
	}
	char *full = xasprintf("%s]}", text);
	struct storyboard_limits lim = { 60, NULL };
	struct storyboard_errors e = invalid(full, &lim);
	ck_assert_uint_eq(e.n, STORYBOARD_MAX_ERRORS);
	ck_assert_uint_eq(e.dropped, 40 - STORYBOARD_MAX_ERRORS);
	char *joined = storyboard_errors_text(&e);
	ck_assert_ptr_nonnull(strstr(joined, "and 20 more"));
	free(joined);
	storyboard_errors_release(&e);
	free(full);
	free(text);
}
END_TEST

START_TEST(test_finish_prompts)
{
	struct storyboard sb;
	struct storyboard_errors e;
	ck_assert_int_eq(storyboard_parse(valid, strlen(valid), &limits12, &sb, &e), 0);
	storyboard_finish_prompts(&sb, "watercolor");
	/* Mara is named in the prompt; Tom speaks in shot 1 and Mara is named in its narration. */
	ck_assert_str_eq(sb.shots[0].prompt,
			 "watercolor, Mara opens a heavy door at dawn. Mara: a tall woman in a red coat");
	ck_assert_str_eq(sb.shots[1].prompt, "watercolor, A boat near the rocks. Mara: a tall woman in a red coat. "
					     "Tom: a boy with a yellow raincoat");
	ck_assert_str_eq(sb.shots[2].prompt, "watercolor, The lamp shines over the sea");
	char *meta = storyboard_meta_json(&sb);
	ck_assert_str_eq(meta, "{\"title\":\"The Lighthouse\",\"language\":\"en\",\"characters\":["
			       "{\"name\":\"Mara\",\"look\":\"a tall woman in a red coat\",\"voice\":null},"
			       "{\"name\":\"Tom\",\"look\":\"a boy with a yellow raincoat\",\"voice\":\"young\"}]}");
	free(meta);
	storyboard_release(&sb);
}
END_TEST

START_TEST(test_whole_words_only)
{
	static const char text[] =
		"{\"title\":\"t\",\"language\":\"en\",\"characters\":[{\"name\":\"Al\",\"look\":\"a bald man\",\"voice\":null}],"
		"\"shots\":[{\"prompt\":\"An alley at night\",\"narration\":\"All quiet.\",\"speaker\":null,\"duration_s\":3}]}";
	struct storyboard sb;
	struct storyboard_errors e;
	ck_assert_int_eq(storyboard_parse(text, strlen(text), &limits12, &sb, &e), 0);
	storyboard_finish_prompts(&sb, NULL);
	ck_assert_str_eq(sb.shots[0].prompt, "An alley at night");
	storyboard_release(&sb);
}
END_TEST

START_TEST(test_prompt_render)
{
	struct prompt_vars v = { .text = "A {{style}} story", .language = "en", .style = "ink", .max_shots = 7 };
	char *out = parse_config_render_prompt(
		"{{max_shots}} shots in {{language}} ({{style}}): {{text}} {{unknown}} {{url}}{", &v);
	ck_assert_str_eq(out, "7 shots in en (ink): A {{style}} story {{unknown}} {");
	free(out);
}
END_TEST

static Suite *storyboard_suite(void)
{
	Suite *s = suite_create("storyboard");
	TCase *tc = tcase_create("validate");
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_not_json);
	tcase_add_test(tc, test_every_violation_listed);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_many_errors_capped);
	tcase_add_test(tc, test_finish_prompts);
	tcase_add_test(tc, test_whole_words_only);
	tcase_add_test(tc, test_prompt_render);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(storyboard_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
