/*
 * Unit tests for the offline parse provider: screenplays (scene headings,
 * "NAME: line" and centred-name dialogue, parentheticals, transitions, the
 * shot cap), Chinese scripts with full-width colons, stories in English and
 * Chinese through the provider, and demo walkthroughs.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "parse_provider.h"
#include "screenplay.h"
#include "banned.h"

static const char screenplay[] = "FADE IN:\n"
				 "\n"
				 "INT. KITCHEN - NIGHT\n"
				 "\n"
				 "Rain hammers the window.\n"
				 "Anna stirs a pot.\n"
				 "\n"
				 "ANNA: He is late again.\n"
				 "ANNA: Always late.\n"
				 "BEN (O.S.): The road is flooded!\n"
				 "\n"
				 "CUT TO:\n"
				 "\n"
				 "EXT. GARDEN - DAWN\n"
				 "\n"
				 "The storm has passed.\n"
				 "\n"
				 "        BEN\n"
				 "    (quietly)\n"
				 "    We fix it together.\n"
				 "    Today.\n";

static struct storyboard_draft split(const char *text, int max, const char *style)
{
	struct storyboard_draft d;
	char err[256] = "";
	ck_assert_msg(screenplay_split(text, max, style, &d, err, sizeof(err)) == 0, "%s", err);
	return d;
}

START_TEST(test_scenes_and_speakers)
{
	struct storyboard_draft d = split(screenplay, 12, "ink sketch");
	ck_assert_uint_eq(d.n_shots, 5);
	ck_assert_ptr_null(d.shots[0].speaker);
	ck_assert_str_eq(d.shots[0].narration, "Rain hammers the window. Anna stirs a pot.");
	ck_assert_str_eq(d.shots[0].prompt, "ink sketch, interior, kitchen, night. Rain hammers the window. Anna stirs "
					    "a pot, cinematic still, detailed, soft light");
	ck_assert_str_eq(d.shots[1].speaker, "ANNA"); /* one speaker's consecutive lines are one shot */
	ck_assert_str_eq(d.shots[1].narration, "He is late again. Always late.");
	ck_assert_str_eq(d.shots[2].speaker, "BEN"); /* the (O.S.) extension is not part of the name */
	ck_assert_str_eq(d.shots[2].narration, "The road is flooded!");
	ck_assert_ptr_nonnull(strstr(d.shots[2].prompt, "BEN speaking: The road is flooded"));
	ck_assert_ptr_null(d.shots[3].speaker);
	ck_assert_str_eq(d.shots[3].narration, "The storm has passed.");
	ck_assert_ptr_nonnull(strstr(d.shots[3].prompt, "exterior, garden, dawn"));
	ck_assert_str_eq(d.shots[4].speaker, "BEN"); /* a centred name above its lines */
	ck_assert_str_eq(d.shots[4].narration, "We fix it together. Today.");
	splitter_release(&d);
}
END_TEST

START_TEST(test_centred_name)
{
	struct storyboard_draft d = split(
		"EXT. ROOF - DAY\n\n        BEN\n    (quietly)\n    We fix it.\n    Today.\n\n"
		"Birds fly.\n",
		12, NULL);
	ck_assert_uint_eq(d.n_shots, 2);
	ck_assert_str_eq(d.shots[0].speaker, "BEN");
	ck_assert_str_eq(d.shots[0].narration, "We fix it. Today."); /* the parenthetical is not narrated */
	ck_assert_ptr_null(d.shots[1].speaker);
	ck_assert_ptr_nonnull(strstr(d.shots[0].prompt, "storybook illustration, exterior, roof, day"));
	splitter_release(&d);
}
END_TEST

START_TEST(test_cap_merges_within_scenes)
{
	struct storyboard_draft d = split(screenplay, 2, NULL);
	ck_assert_uint_eq(d.n_shots, 2);
	/* The kitchen's beats merge together, across speakers, naming who says what. */
	ck_assert_ptr_null(d.shots[0].speaker);
	ck_assert_str_eq(d.shots[0].narration, "Rain hammers the window. Anna stirs a pot. ANNA: He is late again. "
					       "Always late. BEN: The road is flooded!");
	ck_assert_ptr_nonnull(strstr(d.shots[1].narration, "The storm has passed."));
	ck_assert_ptr_nonnull(strstr(d.shots[1].narration, "BEN: We fix it together. Today."));
	splitter_release(&d);
	d = split(screenplay, 1, NULL);
	ck_assert_uint_eq(d.n_shots, 1);
	ck_assert(d.shots[0].duration_ms >= 2000 && d.shots[0].duration_ms <= 15000);
	splitter_release(&d);
}
END_TEST

START_TEST(test_chinese_script)
{
	struct storyboard_draft d = split("INT. 厨房 - 夜\n\n雨打在窗上。\n\n小明：你回来了。\n妈妈：快吃饭吧。\n", 12,
					  "水墨画");
	ck_assert_uint_eq(d.n_shots, 3);
	ck_assert_ptr_null(d.shots[0].speaker);
	ck_assert_str_eq(d.shots[1].speaker, "小明");
	ck_assert_str_eq(d.shots[1].narration, "你回来了。");
	ck_assert_str_eq(d.shots[2].speaker, "妈妈");
	ck_assert_ptr_nonnull(strstr(d.shots[0].prompt, "水墨画, interior, 厨房, 夜"));
	splitter_release(&d);
}
END_TEST

START_TEST(test_shouted_action)
{
	struct storyboard_draft d = split("INT. HALL - DAY\n\nBOOM.\n\nThe door flies open.\n", 12, NULL);
	ck_assert_uint_eq(d.n_shots, 2);
	ck_assert_ptr_null(d.shots[0].speaker);
	ck_assert_str_eq(d.shots[0].narration, "BOOM.");
	splitter_release(&d);
}
END_TEST

START_TEST(test_nothing_to_narrate)
{
	struct storyboard_draft d;
	char err[128];
	ck_assert_int_eq(screenplay_split("INT. HALL - DAY\n\nCUT TO:\n", 5, NULL, &d, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "nothing") ? err : strstr(err, "no action"));
	ck_assert_int_eq(screenplay_split("", 5, NULL, &d, err, sizeof(err)), -1);
	ck_assert_int_eq(screenplay_split("A: b", 0, NULL, &d, err, sizeof(err)), -1);
	ck_assert_uint_eq(d.n_shots, 0);
}
END_TEST

static struct storyboard offline(const char *template_name, const char *text, const char *url, const char *style,
				 int max_shots)
{
	struct parse_job job = { .template_name = (char *)template_name,
				 .text = (char *)text,
				 .url = (char *)url,
				 .style = (char *)style,
				 .max_shots = max_shots };
	struct storyboard sb;
	char err[128];
	ck_assert_msg(parse_offline.offline(&job, &sb, err, sizeof(err)) == 0, "%s", err);
	return sb;
}

START_TEST(test_offline_story_english_and_chinese)
{
	struct storyboard sb = offline("storyboard", "The fox woke up. He ran to the river.\n\nThe fish laughed.", NULL,
				       "pastel", 12);
	ck_assert_str_eq(sb.language, "en");
	ck_assert_str_eq(sb.title, "The fox woke up. He ran to the river.");
	ck_assert_uint_eq(sb.n_shots, 2);
	ck_assert_str_eq(sb.shots[0].narration, "The fox woke up. He ran to the river.");
	ck_assert_ptr_nonnull(strstr(sb.shots[1].prompt, "pastel, The fish laughed"));
	storyboard_release(&sb);
	sb = offline("storyboard", "小镇的清晨总是很安静。面包店的灯第一个亮起来！", NULL, NULL, 1);
	ck_assert_str_eq(sb.language, "zh");
	ck_assert_uint_eq(sb.n_shots, 1);
	ck_assert_str_eq(sb.shots[0].narration, "小镇的清晨总是很安静。面包店的灯第一个亮起来！");
	storyboard_release(&sb);
}
END_TEST

START_TEST(test_offline_script_and_demo)
{
	struct storyboard sb = offline("script", screenplay, NULL, NULL, 12);
	ck_assert_uint_eq(sb.n_shots, 5);
	ck_assert_str_eq(sb.shots[1].speaker, "ANNA");
	storyboard_release(&sb);
	sb = offline("demo", "Sign in with your email. Open the dashboard.\n\nClick New Project.", "https://ex.com",
		     NULL, 12);
	ck_assert_uint_eq(sb.n_shots, 2);
	ck_assert_ptr_nonnull(strstr(sb.shots[0].prompt, "the product at https://ex.com on screen, step 1 of 2"));
	ck_assert_ptr_nonnull(strstr(sb.shots[1].prompt, "step 2 of 2"));
	storyboard_release(&sb);
}
END_TEST

static Suite *screenplay_suite(void)
{
	Suite *s = suite_create("screenplay");
	TCase *tc = tcase_create("offline");
	tcase_add_test(tc, test_scenes_and_speakers);
	tcase_add_test(tc, test_centred_name);
	tcase_add_test(tc, test_cap_merges_within_scenes);
	tcase_add_test(tc, test_chinese_script);
	tcase_add_test(tc, test_shouted_action);
	tcase_add_test(tc, test_nothing_to_narrate);
	tcase_add_test(tc, test_offline_story_english_and_chinese);
	tcase_add_test(tc, test_offline_script_and_demo);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(screenplay_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
