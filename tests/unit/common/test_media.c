/*
 * Unit tests for the output frame size: every aspect ratio at both
 * resolutions, the NULL defaults (9:16, 1080p), refusal of unknown values,
 * and the invariants encoders rely on (even sides, short side 720 or 1080).
 */
#include <check.h>
#include <stdlib.h>

#include "media.h"
#include "banned.h"

static const struct {
	const char *aspect, *resolution;
	int w, h;
} sizes[] = {
	{ "9:16", "1080p", 1080, 1920 }, { "16:9", "1080p", 1920, 1080 }, { "1:1", "1080p", 1080, 1080 },
	{ "4:5", "1080p", 1080, 1350 },  { "9:16", "720p", 720, 1280 },   { "16:9", "720p", 1280, 720 },
	{ "1:1", "720p", 720, 720 },     { "4:5", "720p", 720, 900 },
};

START_TEST(test_every_combination)
{
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		int w = -1, h = -1;
		ck_assert_msg(media_frame_size(sizes[i].aspect, sizes[i].resolution, &w, &h) == 0, "%s %s refused",
			      sizes[i].aspect, sizes[i].resolution);
		ck_assert_msg(w == sizes[i].w && h == sizes[i].h, "%s %s: %dx%d, want %dx%d", sizes[i].aspect,
			      sizes[i].resolution, w, h, sizes[i].w, sizes[i].h);
	}
}
END_TEST

START_TEST(test_even_and_short_side)
{
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		int w = 0, h = 0, shortside = sizes[i].resolution[0] == '7' ? 720 : 1080;
		ck_assert_int_eq(media_frame_size(sizes[i].aspect, sizes[i].resolution, &w, &h), 0);
		ck_assert_int_eq(w % 2, 0);
		ck_assert_int_eq(h % 2, 0);
		ck_assert_int_eq(w < h ? w : h, shortside);
	}
}
END_TEST

START_TEST(test_null_defaults)
{
	int w = 0, h = 0;
	ck_assert_int_eq(media_frame_size(NULL, NULL, &w, &h), 0);
	ck_assert_int_eq(w, 1080);
	ck_assert_int_eq(h, 1920);
	ck_assert_int_eq(media_frame_size(NULL, "720p", &w, &h), 0);
	ck_assert_int_eq(w, 720);
	ck_assert_int_eq(h, 1280);
	ck_assert_int_eq(media_frame_size("16:9", NULL, &w, &h), 0);
	ck_assert_int_eq(w, 1920);
	ck_assert_int_eq(h, 1080);
	ck_assert_int_eq(media_frame_size("4:5", NULL, &w, &h), 0);
	ck_assert_int_eq(w, 1080);
	ck_assert_int_eq(h, 1350);
}
END_TEST

START_TEST(test_unknown_refused)
{
	static const char *const aspects[] = { "", "2:1", "16:10", "9/16", "9:16 ", "916", "1:1:1", "4:3" };
	static const char *const res[] = { "", "480p", "1080", "1080P", "4k", "2160p", " 720p", "720p\n" };
	int w = 77, h = 88;
	for (size_t i = 0; i < ARRAY_SIZE(aspects); i++)
		ck_assert_msg(media_frame_size(aspects[i], "1080p", &w, &h) == -1, "accepted aspect '%s'", aspects[i]);
	for (size_t i = 0; i < ARRAY_SIZE(res); i++)
		ck_assert_msg(media_frame_size("9:16", res[i], &w, &h) == -1, "accepted resolution '%s'", res[i]);
	ck_assert_int_eq(media_frame_size("nope", NULL, &w, &h), -1);
	ck_assert_int_eq(media_frame_size(NULL, "nope", &w, &h), -1);
	/* Outputs untouched on refusal. */
	ck_assert_int_eq(w, 77);
	ck_assert_int_eq(h, 88);
}
END_TEST

static Suite *media_suite(void)
{
	Suite *s = suite_create("media");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_every_combination);
	tcase_add_test(tc, test_even_and_short_side);
	tcase_add_test(tc, test_null_defaults);
	tcase_add_test(tc, test_unknown_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(media_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
