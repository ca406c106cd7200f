/*
 * Unit tests for the offline storyboard splitter: sentence ends in English,
 * Chinese and Japanese, shot grouping and merging, duration estimates,
 * prompts, and hostile input (invalid UTF-8, 100 KB stories, nothing at all).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monotime.h"
#include "splitter.h"
#include "util.h"
#include "banned.h"

#define SUFFIX ", cinematic still, detailed, soft light"

static struct storyboard_draft split_ok(const char *text, int max_shots, const char *style)
{
	struct storyboard_draft sb;
	char err[256] = "";

	ck_assert_msg(splitter_split(text, max_shots, style, &sb, err, sizeof(err)) == 0, "split failed: %s", err);
	ck_assert_uint_gt(sb.n_shots, 0);
	return sb;
}

static void assert_narrations(const struct storyboard_draft *sb, const char *const *want, size_t n)
{
	size_t i;

	ck_assert_uint_eq(sb->n_shots, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(sb->shots[i].narration, want[i]);
}

static void assert_sentences(const char *text, const char *const *want, size_t n)
{
	char **got;
	size_t count = splitter_sentences(text, &got), i;

	for (i = 0; i < count; i++)
		if (i >= n || strcmp(got[i], want[i]))
			ck_abort_msg("sentence %zu: got \"%s\", want \"%s\"", i, got[i], i < n ? want[i] : "(none)");
	ck_assert_uint_eq(count, n);
	for (i = 0; i < count; i++)
		free(got[i]);
	free(got);
}

/* Whether s is well-formed UTF-8 (prompts must never cut a character in two). */
static int valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int need;

	while (*p) {
		need = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
		if (need < 0)
			return 0;
		for (p++; need > 0; need--, p++)
			if ((*p & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

static char *words(int n)
{
	char *s = xmalloc((size_t)n * 5 + 2);
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++) {
		memcpy(s + len, i ? " word" : "Word", i ? 5 : 4);
		len += i ? 5 : 4;
	}
	s[len++] = '.';
	s[len] = '\0';
	return s;
}

START_TEST(test_english_paragraphs)
{
	static const char text[] = "  Mara lived by the sea. Every morning she walked to the harbor to count "
				   "the boats.   One day a red boat came in with no sailor aboard.\n"
				   "\n"
				   "She climbed aboard.\nThe deck was warm.\n"
				   " \t \n"
				   "\"Hello?\" she called. Nobody answered.\n";
	static const char *const want[] = {
		"Mara lived by the sea. Every morning she walked to the harbor to count the boats.",
		"One day a red boat came in with no sailor aboard.",
		"She climbed aboard. The deck was warm.",
		"\"Hello?\" she called. Nobody answered.",
	};
	struct storyboard_draft sb = split_ok(text, 20, NULL);

	assert_narrations(&sb, want, ARRAY_SIZE(want));
	/* 16, 11, 7 and 5 words at 2.6 words/s; the last is raised to the minimum. */
	ck_assert_int_eq(sb.shots[0].duration_ms, 6154);
	ck_assert_int_eq(sb.shots[1].duration_ms, 4231);
	ck_assert_int_eq(sb.shots[2].duration_ms, 2692);
	ck_assert_int_eq(sb.shots[3].duration_ms, 2000);
	ck_assert_str_eq(sb.shots[3].prompt, "storybook illustration, Hello? she called. Nobody answered" SUFFIX);
	splitter_release(&sb);
	ck_assert_ptr_null(sb.shots);
	ck_assert_uint_eq(sb.n_shots, 0);
}
END_TEST

START_TEST(test_chinese)
{
	static const char text[] = "小明走进森林。他看见一只兔子！兔子问：“你是谁？”他说：“我是小明。”\n"
				   "\n"
				   "天黑了，\n他回家了。";
	static const char *const sentences[] = {
		"小明走进森林。", "他看见一只兔子！", "兔子问：“你是谁？”", "他说：“我是小明。”", "天黑了，他回家了。",
	};
	static const char *const shots[] = {
		"小明走进森林。他看见一只兔子！兔子问：“你是谁？”他说：“我是小明。”",
		"天黑了，他回家了。",
	};
	static const char *const quoted[] = { "他说：“走吧！”", "我们走了。" };
	static const char *const digits[] = { "他住在3号楼。", "2号楼很高。" };
	struct storyboard_draft sb;

	assert_sentences(text, sentences, ARRAY_SIZE(sentences));
	assert_sentences("他说：“走吧！”我们走了。", quoted, ARRAY_SIZE(quoted));
	assert_sentences("他住在3号楼。2号楼很高。", digits, ARRAY_SIZE(digits));
	sb = split_ok(text, 10, "水墨画");
	assert_narrations(&sb, shots, ARRAY_SIZE(shots));
	/* 25 characters at 4.5 per second. */
	ck_assert_int_eq(sb.shots[0].duration_ms, 5556);
	ck_assert_str_eq(sb.shots[1].prompt, "水墨画, 天黑了，他回家了" SUFFIX);
	ck_assert_str_eq(sb.shots[0].prompt,
			 "水墨画, 小明走进森林。他看见一只兔子！兔子问：你是谁？他说：我是小明" SUFFIX);
	splitter_release(&sb);
}
END_TEST

START_TEST(test_japanese)
{
	static const char text[] = "昔々、ある村に\nおじいさんが住んでいました。毎日山へ行きました。ある日、\n"
				   "大きな桃を見つけました。「これは何だ？」";
	static const char *const want[] = {
		"昔々、ある村におじいさんが住んでいました。",
		"毎日山へ行きました。",
		"ある日、大きな桃を見つけました。",
		"「これは何だ？」",
	};
	static const char *const shots[] = {
		"昔々、ある村におじいさんが住んでいました。毎日山へ行きました。",
		"ある日、大きな桃を見つけました。「これは何だ？」",
	};
	struct storyboard_draft sb;

	assert_sentences(text, want, ARRAY_SIZE(want));
	/* 28 characters fit in one ~8 s shot; 42 would not. */
	sb = split_ok(text, 5, NULL);
	assert_narrations(&sb, shots, ARRAY_SIZE(shots));
	ck_assert_int_eq(sb.shots[0].duration_ms, 6222);
	splitter_release(&sb);
	sb = split_ok(text, 1, NULL);
	ck_assert_uint_eq(sb.n_shots, 1);
	ck_assert_str_eq(sb.shots[0].narration, "昔々、ある村におじいさんが住んでいました。毎日山へ行きました。"
						"ある日、大きな桃を見つけました。「これは何だ？」");
	splitter_release(&sb);
}
END_TEST

START_TEST(test_decimals_and_abbreviations)
{
	static const char text[] = "Pi is about 3.14 and e is 2.718. Mr. Smith met Dr. Jones on Baker St. at "
				   "noon. They talked, e.g. about the U.S. economy... and then they left. It was "
				   "late... Very late! Mrs. Lee joined the U.S. Army in 1990. \"Hi!\" she said. "
				   "Then she left.";
	static const char *const want[] = {
		"Pi is about 3.14 and e is 2.718.",
		"Mr. Smith met Dr. Jones on Baker St. at noon.",
		"They talked, e.g. about the U.S. economy... and then they left.",
		"It was late...",
		"Very late!",
		"Mrs. Lee joined the U.S. Army in 1990.",
		"\"Hi!\" she said.",
		"Then she left.",
	};

	assert_sentences(text, want, ARRAY_SIZE(want));
}
END_TEST

static const char ladder[] = "One.\n\nTwo two.\n\nThree three three.\n\nFour four four four.\n\n"
			     "Five five five five five.";

START_TEST(test_merge_to_three)
{
	static const char *const want[] = {
		"One. Two two. Three three three.",
		"Four four four four.",
		"Five five five five five.",
	};
	struct storyboard_draft sb = split_ok(ladder, 5, NULL);

	ck_assert_uint_eq(sb.n_shots, 5); /* every paragraph is a shot */
	splitter_release(&sb);
	sb = split_ok(ladder, 3, NULL);
	assert_narrations(&sb, want, ARRAY_SIZE(want));
	ck_assert_int_eq(sb.shots[0].duration_ms, 2308); /* 6 words */
	splitter_release(&sb);
}
END_TEST

START_TEST(test_merge_to_one_and_ties)
{
	static const char *const all[] = {
		"One. Two two. Three three three. Four four four four. Five five five five five.",
	};
	static const char *const tie[] = { "Aa bb. Cc dd.", "Ee ff." };
	struct storyboard_draft sb = split_ok(ladder, 1, NULL);

	assert_narrations(&sb, all, 1);
	ck_assert_int_eq(sb.shots[0].duration_ms, 5769); /* 15 words */
	splitter_release(&sb);
	sb = split_ok("Aa bb.\n\nCc dd.\n\nEe ff.", 2, NULL);
	assert_narrations(&sb, tie, ARRAY_SIZE(tie));
	splitter_release(&sb);
}
END_TEST

/* The obvious quadratic merge, to check the heap against: n paragraphs of len[i] words. */
static size_t naive_merge(int *len, char **text, size_t n, size_t max)
{
	size_t best, i;
	char *joined;

	while (n > max) {
		best = 0;
		for (i = 1; i + 1 < n; i++)
			if (len[i] + len[i + 1] < len[best] + len[best + 1])
				best = i;
		joined = xasprintf("%s %s", text[best], text[best + 1]);
		free(text[best]);
		free(text[best + 1]);
		text[best] = joined;
		len[best] += len[best + 1];
		memmove(&len[best + 1], &len[best + 2], (n - best - 2) * sizeof(*len));
		memmove(&text[best + 1], &text[best + 2], (n - best - 2) * sizeof(*text));
		n--;
	}
	return n;
}

START_TEST(test_merge_matches_naive)
{
	enum { N = 40 };
	int len[N];
	char *para[N], *story, *grown;
	struct storyboard_draft sb;
	uint32_t seed = 12345;
	size_t max, n, i;

	for (max = 1; max <= N; max++) {
		story = xstrdup("");
		for (i = 0; i < N; i++) {
			seed = seed * 1103515245u + 12345u;
			len[i] = 1 + (int)((seed >> 16) % 15);
			para[i] = words(len[i]);
			grown = xasprintf("%s%s\n\n", story, para[i]);
			free(story);
			story = grown;
		}
		sb = split_ok(story, (int)max, NULL);
		n = naive_merge(len, para, N, max);
		ck_assert_uint_eq(sb.n_shots, n);
		for (i = 0; i < n; i++) {
			ck_assert_str_eq(sb.shots[i].narration, para[i]);
			free(para[i]);
		}
		splitter_release(&sb);
		free(story);
	}
}
END_TEST

START_TEST(test_silent_paragraph_dropped)
{
	static const char *const two[] = { "A cat sat.", "A dog ran." };
	static const char *const one[] = { "A cat sat. A dog ran." };
	struct storyboard_draft sb = split_ok("A cat sat.\n\n* * *\n\nA dog ran.", 9, NULL);

	assert_narrations(&sb, two, 2);
	splitter_release(&sb);
	sb = split_ok("A cat sat.\n\n* * *\n\nA dog ran.", 1, NULL);
	assert_narrations(&sb, one, 1);
	splitter_release(&sb);
}
END_TEST

START_TEST(test_duration_monotonic)
{
	struct storyboard_draft sb;
	int prev = 0, d10 = 0, d20 = 0, n;
	char *text;

	for (n = 1; n <= 60; n++) {
		text = words(n);
		sb = split_ok(text, 1, NULL);
		ck_assert_uint_eq(sb.n_shots, 1);
		ck_assert_int_ge(sb.shots[0].duration_ms, 2000);
		ck_assert_int_le(sb.shots[0].duration_ms, 15000);
		ck_assert_int_ge(sb.shots[0].duration_ms, prev);
		prev = sb.shots[0].duration_ms;
		d10 = n == 10 ? prev : d10;
		d20 = n == 20 ? prev : d20;
		splitter_release(&sb);
		free(text);
	}
	ck_assert_int_eq(d10, 3846);
	ck_assert_int_eq(d20, 7692);
	ck_assert_int_eq(prev, 15000);
}
END_TEST

START_TEST(test_style_in_every_prompt)
{
	struct storyboard_draft sb = split_ok(ladder, 5, "watercolor, pastel");
	size_t i;

	ck_assert_uint_eq(sb.n_shots, 5);
	for (i = 0; i < sb.n_shots; i++) {
		ck_assert_msg(!strncmp(sb.shots[i].prompt, "watercolor, pastel, ", 20), "prompt %zu: %s", i,
			      sb.shots[i].prompt);
		ck_assert_ptr_nonnull(strstr(sb.shots[i].prompt, SUFFIX));
	}
	ck_assert_str_eq(sb.shots[1].prompt, "watercolor, pastel, Two two" SUFFIX);
	splitter_release(&sb);
	sb = split_ok(ladder, 5, NULL);
	for (i = 0; i < sb.n_shots; i++)
		ck_assert(!strncmp(sb.shots[i].prompt, "storybook illustration, ", 24));
	splitter_release(&sb);
}
END_TEST

START_TEST(test_long_sentence)
{
	char *text = words(200), *cjk;
	struct storyboard_draft sb = split_ok(text, 12, "ink");
	size_t body, i;

	ck_assert_uint_eq(sb.n_shots, 1);
	ck_assert_str_eq(sb.shots[0].narration, text);
	ck_assert_int_eq(sb.shots[0].duration_ms, 15000);
	body = strlen(sb.shots[0].prompt) - strlen("ink, ") - strlen(SUFFIX);
	ck_assert_uint_le(body, 300);
	ck_assert_uint_ge(body, 240);
	ck_assert_ptr_null(strstr(sb.shots[0].prompt, "wor, ")); /* cut at a space */
	splitter_release(&sb);
	free(text);

	cjk = xmalloc(3 * 401 + 1);
	for (i = 0; i < 400; i++)
		memcpy(cjk + 3 * i, "龍", 3);
	memcpy(cjk + 1200, "。", 4);
	sb = split_ok(cjk, 12, NULL);
	ck_assert_uint_eq(sb.n_shots, 1);
	ck_assert_int_eq(sb.shots[0].duration_ms, 15000);
	ck_assert(valid_utf8(sb.shots[0].prompt));
	body = strlen(sb.shots[0].prompt) - strlen("storybook illustration, ") - strlen(SUFFIX);
	ck_assert_uint_eq(body, 300);
	splitter_release(&sb);
	free(cjk);
}
END_TEST

static char *big_story(size_t bytes)
{
	static const char *const lines[] = {
		"The wind rose over the hills. ",
		"Dr. Reyes checked the 3.5 meter mast. ",
		"Nobody slept that night! ",
		"Would the storm pass by morning? ",
		"The children counted the thunder... and laughed.\n\n",
	};
	char *s = xmalloc(bytes + 128);
	size_t n = 0, i = 0, len;

	while (n < bytes) {
		len = strlen(lines[i % ARRAY_SIZE(lines)]);
		memcpy(s + n, lines[i++ % ARRAY_SIZE(lines)], len);
		n += len;
	}
	s[n] = '\0';
	return s;
}

START_TEST(test_100k_fast)
{
	char *text = big_story(100 * 1024), *cjk;
	uint64_t t0 = monotime_ms();
	struct storyboard_draft sb = split_ok(text, 12, NULL);
	size_t i;

	ck_assert_uint_eq(sb.n_shots, 12);
	for (i = 0; i < sb.n_shots; i++) {
		ck_assert_int_eq(sb.shots[i].duration_ms, 15000);
		ck_assert(strlen(sb.shots[i].narration) > 1000);
	}
	ck_assert(!strncmp(sb.shots[0].narration, "The wind rose over the hills. Dr. Reyes", 39));
	splitter_release(&sb);

	cjk = xmalloc(100 * 1024 + 16);
	for (i = 0; i + 3 <= 100 * 1024; i += 3)
		memcpy(cjk + i, i % 30 == 27 ? "。" : "雨", 3);
	cjk[i] = '\0';
	sb = split_ok(cjk, 12, NULL);
	ck_assert_uint_eq(sb.n_shots, 12);
	splitter_release(&sb);
	ck_assert_uint_lt(monotime_ms() - t0, 3000);
	free(text);
	free(cjk);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	static const char *const inputs[] = {
		"Hello \xff\xfe world. Bad \xc3 byte\xe2\x80 here.\x80 End.",
		"\xe4\xb8",
		"abc\xe4\xb8",
		"\xf0\x9f\x98",
		"\x80\x80\x80\x80.\n\n\xc0\xaf!",
	};
	struct storyboard_draft sb;
	char err[128];
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_SIZE(inputs); i++) {
		rc = splitter_split(inputs[i], 3, NULL, &sb, err, sizeof(err));
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_ge(sb.n_shots, 1);
		ck_assert_ptr_nonnull(sb.shots[0].prompt);
		splitter_release(&sb);
	}
	sb = split_ok(inputs[0], 1, NULL);
	ck_assert_ptr_nonnull(strstr(sb.shots[0].narration, "Hello \xff\xfe world."));
	ck_assert_ptr_nonnull(strstr(sb.shots[0].narration, "byte\xe2\x80 here."));
	splitter_release(&sb);

	{
		char *junk = xmalloc(1001);

		memset(junk, 0x80, 1000);
		junk[1000] = '\0';
		sb = split_ok(junk, 1, NULL);
		ck_assert_uint_eq(sb.n_shots, 1);
		splitter_release(&sb);
		free(junk);
	}
}
END_TEST

START_TEST(test_empty_input)
{
	static const char *const inputs[] = { "", "   \n\n\t  \n", "\xe3\x80\x80", "...", "* * *" };
	struct storyboard_draft sb;
	char err[128];
	char **sentences;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(inputs); i++) {
		err[0] = '\0';
		ck_assert_int_eq(splitter_split(inputs[i], 3, NULL, &sb, err, sizeof(err)), -1);
		ck_assert_str_eq(err, "text has nothing to narrate");
		ck_assert_uint_eq(sb.n_shots, 0);
		ck_assert_ptr_null(sb.shots);
		splitter_release(&sb);
	}
	ck_assert_int_eq(splitter_split(NULL, 3, NULL, &sb, err, sizeof(err)), -1);
	ck_assert_int_eq(splitter_split("Hi there.", 0, NULL, &sb, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "max_shots"));
	ck_assert_uint_eq(splitter_sentences("  \n ", &sentences), 0);
	ck_assert_ptr_null(sentences);
}
END_TEST

static Suite *splitter_suite(void)
{
	Suite *s = suite_create("splitter");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_english_paragraphs);
	tcase_add_test(tc, test_chinese);
	tcase_add_test(tc, test_japanese);
	tcase_add_test(tc, test_decimals_and_abbreviations);
	tcase_add_test(tc, test_merge_to_three);
	tcase_add_test(tc, test_merge_to_one_and_ties);
	tcase_add_test(tc, test_merge_matches_naive);
	tcase_add_test(tc, test_silent_paragraph_dropped);
	tcase_add_test(tc, test_duration_monotonic);
	tcase_add_test(tc, test_style_in_every_prompt);
	tcase_add_test(tc, test_long_sentence);
	tcase_add_test(tc, test_100k_fast);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_empty_input);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(splitter_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
