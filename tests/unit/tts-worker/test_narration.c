/*
 * Unit tests for the tts-worker's text handling: cutting narration under a
 * vendor's limit at sentence boundaries (English and Chinese), syllable
 * counts, timing estimates, the timings JSON and voice casting.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cast.h"
#include "errbuf.h"
#include "json.h"
#include "narration.h"
#include "timing.h"
#include "banned.h"

#define EN_STORY \
	"The old fox lived at the edge of a quiet forest. Every morning he walked to the river! " \
	"Did the fish know him? Nobody could say; the river kept its secrets. It cost 3.5 coins."
#define ZH_STORY \
	"小镇的清晨总是很安静。面包店的灯第一个亮起来！老奶奶推开窗户，向路过的孩子们招手。孩子们笑着跑向学校。"

/* True when s holds only whole UTF-8 sequences. */
static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 0;
		if (!n)
			return false;
		for (int i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

/* The parts glued with sep equal the text with its whitespace runs made single spaces (or removed). */
static void check_reassembles(char **parts, size_t n, const char *text, const char *sep)
{
	char *glued = xstrdup(""), *want = xstrdup(text);
	for (size_t i = 0; i < n; i++) {
		char *g = xasprintf("%s%s%s", glued, i ? sep : "", parts[i]);
		free(glued);
		glued = g;
	}
	ck_assert_str_eq(glued, want);
	free(glued);
	free(want);
}

START_TEST(test_split_english_sentences)
{
	char **parts;
	size_t n = narration_split(EN_STORY, 60, &parts);
	ck_assert_uint_ge(n, 4);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(parts[i]);
		ck_assert_uint_le(narration_chars(parts[i]), 60);
		/* every part ends a sentence: this text has no sentence over the limit */
		ck_assert_msg(strchr(".!?;", parts[i][len - 1]), "part \"%s\" does not end a sentence", parts[i]);
	}
	ck_assert_str_eq(parts[0], "The old fox lived at the edge of a quiet forest.");
	/* the decimal point is no sentence end */
	ck_assert_str_eq(parts[n - 1], "the river kept its secrets. It cost 3.5 coins.");
	check_reassembles(parts, n, EN_STORY, " ");
	narration_free(parts, n);
}

START_TEST(test_split_packs_sentences)
{
	char **parts;
	size_t n = narration_split(EN_STORY, 4096, &parts);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(parts[0], EN_STORY);
	narration_free(parts, n);
	n = narration_split("  One. Two. Three.  ", 11, &parts);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(parts[0], "One. Two.");
	ck_assert_str_eq(parts[1], "Three.");
	narration_free(parts, n);
}

START_TEST(test_split_long_sentence_at_words)
{
	const char *text = "a very long sentence without any punctuation that goes on and on and on for ever";
	char **parts;
	size_t n = narration_split(text, 20, &parts);
	ck_assert_uint_ge(n, 4);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_le(narration_chars(parts[i]), 20);
		ck_assert_ptr_null(strstr(parts[i], "  "));
		ck_assert(parts[i][0] != ' ' && parts[i][strlen(parts[i]) - 1] != ' ');
	}
	check_reassembles(parts, n, text, " ");
	narration_free(parts, n);
	/* a clause mark comes before spaces */
	n = narration_split("first clause here, second clause there", 25, &parts);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(parts[0], "first clause here,");
	narration_free(parts, n);
}

START_TEST(test_split_chinese)
{
	char **parts;
	size_t n = narration_split(ZH_STORY, 20, &parts);
	ck_assert_uint_ge(n, 3);
	for (size_t i = 0; i < n; i++) {
		ck_assert(valid_utf8(parts[i]));
		ck_assert_uint_le(narration_chars(parts[i]), 20);
	}
	ck_assert_str_eq(parts[0], "小镇的清晨总是很安静。");
	check_reassembles(parts, n, ZH_STORY, "");
	narration_free(parts, n);
	/* the long sentence is cut at its comma */
	n = narration_split("老奶奶推开窗户，向路过的孩子们招手。", 10, &parts);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(parts[0], "老奶奶推开窗户，");
	ck_assert_str_eq(parts[1], "向路过的孩子们招手。");
	narration_free(parts, n);
}

START_TEST(test_split_hard_cut_keeps_code_points)
{
	const char *text = "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏";
	char **parts;
	size_t n = narration_split(text, 7, &parts);
	ck_assert_uint_eq(n, 4);
	for (size_t i = 0; i < n; i++) {
		ck_assert(valid_utf8(parts[i]));
		ck_assert_uint_le(narration_chars(parts[i]), 7);
	}
	check_reassembles(parts, n, text, "");
	narration_free(parts, n);
	ck_assert_uint_eq(narration_split("   \n ", 10, &parts), 0);
	free(parts);
}

START_TEST(test_sentences)
{
	char **s;
	size_t n = narration_sentences("Hello there! How are you?\nFine. 好的。谢谢！", &s);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(s[0], "Hello there!");
	ck_assert_str_eq(s[2], "Fine.");
	ck_assert_str_eq(s[3], "好的。");
	ck_assert_str_eq(s[4], "谢谢！");
	narration_free(s, n);
}

START_TEST(test_syllables)
{
	ck_assert_uint_eq(narration_syllables("cat"), 1);
	ck_assert_uint_eq(narration_syllables("make"), 1);      /* silent e */
	ck_assert_uint_eq(narration_syllables("beautiful"), 3); /* eau-ti-ful */
	ck_assert_uint_eq(narration_syllables("The old fox walked."), 4);
	ck_assert_uint_eq(narration_syllables("你好世界。"), 4);
	ck_assert_uint_eq(narration_syllables("In 2024"), 5); /* one per digit */
	ck_assert_uint_eq(narration_syllables("..."), 1);
	ck_assert_uint_eq(narration_syllables(" "), 0);
}

START_TEST(test_estimate_english)
{
	struct timing_list l = { 0 };
	/* 4 + 1 pause, 8 syllables: the second sentence takes about twice as long */
	timing_estimate(&l, "The cat sat down. The old fox walked to the river bank.", 50, 3000);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_int_eq(l.v[0].start_ms, 50);
	ck_assert_int_eq(l.v[1].end_ms, 3050);
	ck_assert_int_le(l.v[0].end_ms, l.v[1].start_ms);
	int64_t a = l.v[0].end_ms - l.v[0].start_ms, b = l.v[1].end_ms - l.v[1].start_ms;
	ck_assert_msg(b > a * 3 / 2 && b < a * 3, "spans %lld and %lld", (long long)a, (long long)b);
	ck_assert_str_eq(l.v[1].text, "The old fox walked to the river bank.");
	timing_release(&l);
}

START_TEST(test_estimate_chinese)
{
	struct timing_list l = { 0 };
	timing_estimate(&l, "你好。今天天气很好我们去公园。", 0, 2000);
	ck_assert_uint_eq(l.n, 2);
	/* 2 characters + a pause against 10: about 3:10 of the time */
	int64_t a = l.v[0].end_ms - l.v[0].start_ms, b = l.v[1].end_ms - l.v[1].start_ms;
	ck_assert_int_eq(l.v[0].start_ms, 0);
	ck_assert_int_eq(l.v[1].end_ms, 2000);
	ck_assert_msg(b >= a * 4 && b <= a * 6, "spans %lld and %lld", (long long)a, (long long)b);
	char *json = timing_json(&l);
	cJSON *j = json_parse(json, strlen(json));
	ck_assert(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 2);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(j, 0), "text"), "你好。");
	long end;
	ck_assert_int_eq(json_int(cJSON_GetArrayItem(j, 1), "end_ms", &end), 0);
	ck_assert_int_eq(end, 2000);
	cJSON_Delete(j);
	free(json);
	timing_release(&l);
}

START_TEST(test_shift_clamps)
{
	char hello[] = "Hello", world[] = "world";
	struct tts_timing words[] = { { 0, 300, hello }, { 350, 900, world } };
	struct timing_list l = { 0 };
	timing_shift(&l, words, 2, -100, 700);
	ck_assert_int_eq(l.v[0].start_ms, 0);
	ck_assert_int_eq(l.v[0].end_ms, 200);
	ck_assert_int_eq(l.v[1].start_ms, 250);
	ck_assert_int_eq(l.v[1].end_ms, 700);
	timing_release(&l);
}

static const char *const catalogue[][4] = {
	{ "openai", "alloy", "en", NULL },        { "openai", "ash", "en", "male" },
	{ "openai", "coral", "en", "female" },    { "openai", "nova", "en", "female" },
	{ "espeak", "cmn+f3", "zh", "female" },   { "espeak", "cmn+m3", "zh", "male" },
	{ "espeak", "en-us+f3", "en", "female" }, { "espeak", "en-us+m3", "en", "male" },
};

static char *pick(const char *provider, const char *lang, const char *narrator, const char *chars, const char *speaker)
{
	struct cast c = { xcalloc(ARRAY_SIZE(catalogue), sizeof(struct cast_voice)), ARRAY_SIZE(catalogue) };
	for (size_t i = 0; i < c.n; i++)
		c.v[i] = (struct cast_voice){ xstrdup(catalogue[i][0]), xstrdup(catalogue[i][1]),
					      xstrdup(catalogue[i][2]),
					      catalogue[i][3] ? xstrdup(catalogue[i][3]) : NULL };
	char *voice = cast_pick(&c, provider, lang, narrator, chars, speaker);
	cast_release(&c);
	return voice;
}

START_TEST(test_cast_two_characters_two_voices)
{
	const char *chars = "[{\"name\":\"Mara\",\"voice\":\"calm\"},{\"name\":\"Tom\",\"voice\":null}]";
	char *mara = pick("openai", "en", NULL, chars, "Mara"), *tom = pick("openai", "en", NULL, chars, "TOM");
	ck_assert_ptr_nonnull(mara);
	ck_assert_ptr_nonnull(tom);
	ck_assert_str_ne(mara, tom);
	/* every shot of a job casts the same way */
	char *again = pick("openai", "en", NULL, chars, "Mara");
	ck_assert_str_eq(again, mara);
	free(mara);
	free(tom);
	free(again);
	/* the narrator speaks with the job's voice, which no character takes */
	char *n = pick("openai", "en", "alloy", chars, NULL);
	ck_assert_str_eq(n, "alloy");
	free(n);
	mara = pick("openai", "en", "alloy", chars, "Mara");
	ck_assert_str_ne(mara, "alloy");
	free(mara);
	ck_assert_ptr_null(pick("openai", "en", NULL, chars, NULL));
}

START_TEST(test_cast_hints)
{
	const char *chars = "[{\"name\":\"Old Man\",\"voice\":\"a deep old man\"},"
			    "{\"name\":\"Girl\",\"voice\":\"a young girl\"},{\"name\":\"Bot\",\"voice\":\"nova\"}]";
	char *man = pick("openai", "en", NULL, chars, "Old Man"), *girl = pick("openai", "en", NULL, chars, "Girl");
	char *bot = pick("openai", "en", NULL, chars, "Bot"), *stranger = pick("openai", "en", NULL, chars, "Stranger");
	ck_assert_str_eq(man, "ash");
	ck_assert_str_eq(girl, "coral");
	ck_assert_str_eq(bot, "nova");       /* a hint naming a catalogue voice */
	ck_assert_str_eq(stranger, "alloy"); /* not in the storyboard: the next free voice */
	free(man);
	free(girl);
	free(bot);
	free(stranger);
	/* espeak voices are taken in the shot's language */
	char *zh = pick("espeak", "zh", NULL, chars, "Girl");
	ck_assert_str_eq(zh, "cmn+f3");
	free(zh);
	ck_assert_str_eq(cast_gender("warm older woman"), "female");
	ck_assert_str_eq(cast_gender("中年男人"), "male");
	ck_assert_ptr_null(cast_gender("human robot"));
}

/* Refuses the ids the test names as not installed. */
static int fake_check(const char *voice, char *err, size_t errlen)
{
	if (strcmp(voice, "en-gb+f3") && strcmp(voice, "de-de+m3"))
		return 0;
	return errbuf_set(err, errlen, "espeak-ng has no voice \"%s\"", voice);
}

START_TEST(test_cast_keeps_loading_voices)
{
	static const char *const rows[][3] = { { "espeak", "de-de+m3", "de-DE" },
					       { "espeak", "en-gb+f3", "en-GB" },
					       { "espeak", "en-us+f3", "en-US" },
					       { "fish", "en-gb+f3", "en" },
					       { "espeak", "en-us+m3", "en-US" } };
	struct cast c = { xcalloc(ARRAY_SIZE(rows), sizeof(struct cast_voice)), ARRAY_SIZE(rows) }, dropped;
	char err[128] = "";
	for (size_t i = 0; i < c.n; i++)
		c.v[i] = (struct cast_voice){ xstrdup(rows[i][0]), xstrdup(rows[i][1]), xstrdup(rows[i][2]), NULL };
	cast_keep_loading(&c, fake_check, &dropped, err, sizeof(err));
	ck_assert_uint_eq(dropped.n, 2);
	ck_assert_str_eq(dropped.v[0].id, "de-de+m3");
	ck_assert_str_eq(dropped.v[1].id, "en-gb+f3");
	ck_assert_str_eq(err, "espeak-ng has no voice \"en-gb+f3\"");
	/* the others keep their order; a vendor's voice is not espeak's to check */
	ck_assert_uint_eq(c.n, 3);
	ck_assert_str_eq(c.v[0].id, "en-us+f3");
	ck_assert_str_eq(c.v[1].provider, "fish");
	ck_assert_str_eq(c.v[2].id, "en-us+m3");
	/* casting never reaches a dropped voice */
	char *v = cast_pick(&c, "espeak", "en", NULL, "[{\"name\":\"A\",\"voice\":\"en-gb+f3\"}]", "A");
	ck_assert_str_eq(v, "en-us+f3");
	free(v);
	cast_release(&dropped);
	cast_release(&c);
}
END_TEST

/* Five speakers and the catalogue's two English espeak voices: the speakers
 * share them in turn, never the narrator's while another exists, and every
 * shot casts alike. */
START_TEST(test_cast_more_speakers_than_voices)
{
	const char *chars = "[{\"name\":\"A\"},{\"name\":\"B\"},{\"name\":\"C\"},{\"name\":\"D\"},"
			    "{\"name\":\"E\"}]";
	static const char *const names[] = { "A", "B", "C", "D", "E" };
	static const char *const want[] = { "en-us+f3", "en-us+m3", "en-us+f3", "en-us+m3", "en-us+f3" };
	/* the narrator's en-us+m3 leaves en-us+f3 to everyone */
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *v = pick("espeak", "en", "en-us+m3", chars, names[i]);
		ck_assert_str_eq(v, "en-us+f3");
		free(v);
	}
	/* without a narrator's voice: distinct while there are voices, then in turn */
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *v = pick("espeak", "en", NULL, chars, names[i]),
		     *again = pick("espeak", "en", NULL, chars, names[i]);
		ck_assert_str_eq(v, want[i]);
		ck_assert_str_eq(again, v);
		free(v);
		free(again);
	}
}
END_TEST

static Suite *narration_suite(void)
{
	Suite *s = suite_create("narration");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_split_english_sentences);
	tcase_add_test(tc, test_split_packs_sentences);
	tcase_add_test(tc, test_split_long_sentence_at_words);
	tcase_add_test(tc, test_split_chinese);
	tcase_add_test(tc, test_split_hard_cut_keeps_code_points);
	tcase_add_test(tc, test_sentences);
	tcase_add_test(tc, test_syllables);
	tcase_add_test(tc, test_estimate_english);
	tcase_add_test(tc, test_estimate_chinese);
	tcase_add_test(tc, test_shift_clamps);
	tcase_add_test(tc, test_cast_two_characters_two_voices);
	tcase_add_test(tc, test_cast_hints);
	tcase_add_test(tc, test_cast_keeps_loading_voices);
	tcase_add_test(tc, test_cast_more_speakers_than_voices);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(narration_suite());
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
