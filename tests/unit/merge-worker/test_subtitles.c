/*
 * Unit tests for the subtitle cues: shots.timings taken as given (clamped,
 * bad entries skipped), estimates from narration in Latin and CJK text,
 * wrapping by display width, and the SRT, WebVTT and ASS documents.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "subtitles.h"
#include "banned.h"

/* Display columns of one line: CJK (3-byte UTF-8 here) counts two. */
static int columns_of(const char *line, size_t n)
{
	int cols = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)line[i];

		if (c >= 0xE0) {
			cols += 2;
			i += 3;
		} else {
			cols += 1;
			i += 1;
		}
	}
	return cols;
}

static void check_lines_fit(const char *text, int columns)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		/* A closing punctuation mark may hang over by one character. */
		ck_assert_msg(columns_of(p, n) <= columns + 2, "line \"%.*s\" is %d columns", (int)n, p,
			      columns_of(p, n));
		p += n + (nl ? 1 : 0);
	}
}

START_TEST(test_wrap)
{
	char *w = subtitles_wrap("The lantern glows over the quiet harbour tonight", 20);

	ck_assert_str_eq(w, "The lantern glows\nover the quiet\nharbour tonight");
	free(w);
	w = subtitles_wrap("月光照在安静的港口上，灯笼轻轻摇晃。", 16);
	ck_assert_str_eq(w, "月光照在安静的港\n口上，灯笼轻轻摇\n晃。");
	check_lines_fit(w, 16);
	free(w);
	w = subtitles_wrap("  spaced   out\nwords ", 40);
	ck_assert_str_eq(w, "spaced out words");
	free(w);
	w = subtitles_wrap("Mixed 中文 text 和英文 together", 12);
	check_lines_fit(w, 12);
	free(w);
}
END_TEST

START_TEST(test_timings_used)
{
	struct subs s;
	char *srt, *vtt;

	subtitles_init(&s);
	subtitles_add_shot(&s, 0,
			   "[{\"start_ms\":0,\"end_ms\":1200,\"text\":\"Hello there.\"},"
			   "{\"start_ms\":1200,\"end_ms\":9000,\"text\":\"A <b> & c\"},"
			   "{\"start_ms\":\"x\",\"end_ms\":5,\"text\":\"skipped\"},{\"end_ms\":5}]",
			   "ignored narration", 2000, 2500, 40);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_int_eq(s.cues[0].start_ms, 2000);
	ck_assert_int_eq(s.cues[0].end_ms, 3200);
	ck_assert_int_eq(s.cues[1].start_ms, 3200);
	ck_assert_int_eq(s.cues[1].end_ms, 4500); /* clamped to the shot */
	srt = subtitles_srt(&s);
	ck_assert_str_eq(srt, "1\n00:00:02,000 --> 00:00:03,200\nHello there.\n\n"
			      "2\n00:00:03,200 --> 00:00:04,500\nA <b> & c\n\n");
	vtt = subtitles_vtt(&s);
	ck_assert_str_eq(vtt, "WEBVTT\n\n00:00:02.000 --> 00:00:03.200\nHello there.\n\n"
			      "00:00:03.200 --> 00:00:04.500\nA &lt;b&gt; &amp; c\n\n");
	free(srt);
	free(vtt);
	subtitles_release(&s);
}
END_TEST

START_TEST(test_estimated)
{
	struct subs s;

	subtitles_init(&s);
	/* NULL timings: sentences share the shot by how long they take to say. */
	subtitles_add_shot(&s, 0, NULL, "Short one. This second sentence is a good deal longer than the first.", 0,
			   4000, 40);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.cues[0].text, "Short one.");
	ck_assert_int_eq(s.cues[0].start_ms, 0);
	ck_assert_int_eq(s.cues[0].end_ms, s.cues[1].start_ms);
	ck_assert_int_lt(s.cues[0].end_ms, 1000);
	ck_assert_int_eq(s.cues[1].end_ms, 4000);
	/* CJK: sentence ends without spaces, and a Han character weighs three Latin letters. */
	subtitles_add_shot(&s, 1, "null", "港口很安静。灯笼在风中轻轻摇晃，照亮了整条街道和远处的渔船。", 4000, 3000,
			   16);
	ck_assert_uint_eq(s.n, 5);
	ck_assert_str_eq(s.cues[2].text, "港口很安静。");
	ck_assert_int_eq(s.cues[2].start_ms, 4000);
	ck_assert_int_eq(s.cues[4].end_ms, 7000);
	for (size_t i = 2; i < s.n; i++) {
		ck_assert_int_eq(s.cues[i].shot, 1);
		ck_assert_int_lt(s.cues[i].start_ms, s.cues[i].end_ms);
		check_lines_fit(s.cues[i].text, 16);
		ck_assert_ptr_null(strchr(strchr(s.cues[i].text, '\n') ? strchr(s.cues[i].text, '\n') + 1 : "", '\n'));
	}
	/* Empty narration and an empty timings array: no cues. */
	subtitles_add_shot(&s, 2, "[]", "", 7000, 1000, 16);
	ck_assert_uint_eq(s.n, 5);
	subtitles_release(&s);
}
END_TEST

START_TEST(test_ass)
{
	struct subs s;
	char *ass;

	subtitles_init(&s);
	subtitles_add_shot(&s, 0, "[{\"start_ms\":0,\"end_ms\":500,\"text\":\"zero\"}]", NULL, 0, 1000, 20);
	subtitles_add_shot(&s, 1, "[{\"start_ms\":250,\"end_ms\":1500,\"text\":\"{\\\\b1}one\\ntwo\"}]", NULL, 1000,
			   2000, 20);
	ass = subtitles_ass(&s, 1, 1000, 1080, 1920);
	ck_assert_ptr_nonnull(ass);
	ck_assert_ptr_nonnull(strstr(ass, "PlayResX: 1080\nPlayResY: 1920\n"));
	ck_assert_ptr_nonnull(strstr(ass, "Noto Sans CJK SC,64,"));
	ck_assert_ptr_nonnull(strstr(ass, "Dialogue: 0,0:00:00.25,0:00:01.50,Default,,0,0,0,,(/b1)one two\n"));
	ck_assert_ptr_null(strstr(ass, "zero"));
	free(ass);
	ck_assert_ptr_null(subtitles_ass(&s, 2, 3000, 1080, 1920));
	ck_assert_int_eq(subtitles_font_px(1080, 1920), 64);
	ck_assert_int_gt(subtitles_columns(1080, 1920), 20);
	ck_assert_int_lt(subtitles_columns(1080, 1920), 34);
	subtitles_release(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("subtitles");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_wrap);
	tcase_add_test(tc, test_timings_used);
	tcase_add_test(tc, test_estimated);
	tcase_add_test(tc, test_ass);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
