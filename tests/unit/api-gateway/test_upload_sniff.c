/*
 * Unit tests for the upload sniffer: files made with the ffmpeg program
 * (an MP3, one with cover art, a WAV, an MP4 with and without pictures, a
 * PNG, a GIF) are named by what they hold whatever their file name says;
 * text, an empty file, a cut-off PNG and formats uploads do not take are
 * refused with a reason.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upload_sniff.h"
#include "banned.h"

static char dir[] = "/tmp/reel-sniff-XXXXXX";

/* Makes name in dir with the ffmpeg program's arguments args; returns its path (static). */
static const char *make(const char *name, const char *args)
{
	static char path[256];
	char cmd[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(cmd, sizeof(cmd), "ffmpeg -v error -y %s '%s'", args, path);
	ck_assert_msg(system(cmd) == 0, "ffmpeg failed: %s", cmd);
	return path;
}

static const char *write_bytes(const char *name, const void *data, size_t len)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd); /* each test runs forked: the parent's dir template stays intact */
}

static struct upload_media sniff_ok(const char *path)
{
	struct upload_media m;
	char err[256] = "";
	ck_assert_msg(upload_sniff(path, &m, err, sizeof(err)) == 0, "%s refused: %s", path, err);
	return m;
}

static void sniff_refused(const char *path, const char *why)
{
	struct upload_media m;
	char err[256] = "";
	ck_assert_msg(upload_sniff(path, &m, err, sizeof(err)) < 0, "%s taken", path);
	ck_assert_msg(strstr(err, why), "%s: \"%s\" does not say \"%s\"", path, err, why);
}

START_TEST(test_mp3_named_png)
{
	struct upload_media m = sniff_ok(make("song.png", "-f lavfi -i sine=frequency=440:duration=3 -f mp3"));
	ck_assert_int_eq(m.kind, UPLOAD_AUDIO);
	ck_assert_str_eq(m.content_type, "audio/mpeg");
	ck_assert_int_eq(m.width, 0);
	ck_assert_msg(m.duration_ms > 2900 && m.duration_ms < 3100, "duration %ld", m.duration_ms);
}
END_TEST

START_TEST(test_mp3_cover_art_is_audio)
{
	make("cover.png", "-f lavfi -i color=blue:s=16x16 -frames:v 1");
	char args[512];
	snprintf(args, sizeof(args),
		 "-f lavfi -i sine=duration=2 -i '%s/cover.png' -map 0 -map 1 -c:v png "
		 "-disposition:v attached_pic -id3v2_version 3",
		 dir);
	struct upload_media m = sniff_ok(make("cover.mp3", args));
	ck_assert_int_eq(m.kind, UPLOAD_AUDIO);
	ck_assert_str_eq(m.content_type, "audio/mpeg");
}
END_TEST

START_TEST(test_wav)
{
	struct upload_media m = sniff_ok(make("voice.wav", "-f lavfi -i sine=duration=1.5 -ac 1"));
	ck_assert_int_eq(m.kind, UPLOAD_AUDIO);
	ck_assert_str_eq(m.content_type, "audio/wav");
	ck_assert_msg(m.duration_ms > 1450 && m.duration_ms < 1550, "duration %ld", m.duration_ms);
}
END_TEST

START_TEST(test_mp4_video_and_audio_only)
{
	struct upload_media m = sniff_ok(make("clip.mp4", "-f lavfi -i testsrc=s=32x24:d=2:r=10 -pix_fmt yuv420p"));
	ck_assert_int_eq(m.kind, UPLOAD_VIDEO);
	ck_assert_str_eq(m.content_type, "video/mp4");
	ck_assert_int_eq(m.width, 32);
	ck_assert_int_eq(m.height, 24);
	ck_assert_msg(m.duration_ms >= 1900 && m.duration_ms <= 2100, "duration %ld", m.duration_ms);
	m = sniff_ok(make("sound.m4a", "-f lavfi -i sine=duration=1 -c:a aac"));
	ck_assert_int_eq(m.kind, UPLOAD_AUDIO);
	ck_assert_str_eq(m.content_type, "audio/mp4");
}
END_TEST

START_TEST(test_images)
{
	struct upload_media m = sniff_ok(
		make("face.mp3", "-f lavfi -i color=red:s=64x48 -frames:v 1 -f image2 -c:v png"));
	ck_assert_int_eq(m.kind, UPLOAD_IMAGE);
	ck_assert_str_eq(m.content_type, "image/png");
	ck_assert_int_eq(m.width, 64);
	ck_assert_int_eq(m.height, 48);
	ck_assert_int_eq(m.duration_ms, 0);
	m = sniff_ok(make("photo.jpg", "-f lavfi -i color=green:s=40x30 -frames:v 1"));
	ck_assert_str_eq(m.content_type, "image/jpeg");
	ck_assert_int_eq(m.kind, UPLOAD_IMAGE);
	m = sniff_ok(make("anim.gif", "-f lavfi -i testsrc=s=20x10:d=0.5:r=4"));
	ck_assert_int_eq(m.kind, UPLOAD_IMAGE);
	ck_assert_str_eq(m.content_type, "image/gif");
}
END_TEST

START_TEST(test_refusals)
{
	static const char text[] = "this is not media at all, only a sentence\n";
	sniff_refused(write_bytes("notes.mp3", text, strlen(text)), "no audio, image or video");
	sniff_refused(write_bytes("empty.wav", "", 0), "no audio, image or video");
	/* A PNG signature with nothing after it: named a PNG, but no picture of a known size. */
	static const unsigned char png_head[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	sniff_refused(write_bytes("cut.png", png_head, sizeof(png_head)), "png_pipe");
	/* A container uploads do not take (FFmpeg knows it). */
	sniff_refused(make("frames.y4m", "-f lavfi -i testsrc=s=16x16:d=0.2:r=5 -pix_fmt yuv420p"),
		      "uploads do not take");
}
END_TEST

START_TEST(test_kind_names)
{
	ck_assert_str_eq(upload_sniff_kind_name(UPLOAD_AUDIO), "audio");
	ck_assert_str_eq(upload_sniff_kind_name(UPLOAD_IMAGE), "image");
	ck_assert_str_eq(upload_sniff_kind_name(UPLOAD_VIDEO), "video");
}
END_TEST

static Suite *sniff_suite(void)
{
	Suite *s = suite_create("upload_sniff");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_mp3_named_png);
	tcase_add_test(tc, test_mp3_cover_art_is_audio);
	tcase_add_test(tc, test_wav);
	tcase_add_test(tc, test_mp4_video_and_audio_only);
	tcase_add_test(tc, test_images);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_kind_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sniff_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
