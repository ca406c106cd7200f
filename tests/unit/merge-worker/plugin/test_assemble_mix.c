/*
 * Unit tests for assemble_mp4's sound and burned subtitles: loudness
 * normalised with music on (measured by the ffmpeg program's ebur128
 * filter), music looped, ducked and faded, silence left silent, and Chinese
 * subtitles drawn by libass where they belong.
 */
#include "assemble_fixture.h"
#include "log.h"
#include "subtitles.h"

/* Integrated loudness of path's audio as the ffmpeg program's ebur128 filter measures it. */
static double measure_lufs(const char *path)
{
	char cmd[512], line[256];
	double lufs = 0;
	int found = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ffmpeg -nostats -hide_banner -i '%s' -map 0:a -af ebur128 -f null - 2>&1", path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	/* The summary comes last; its "I:" line is the integrated loudness. */
	while (fgets(line, sizeof(line), f)) {
		const char *i = strstr(line, "I:");

		if (i && strstr(line, "LUFS") && !strstr(line, "M:")) {
			lufs = strtod(i + 2, NULL);
			found = 1;
		}
	}
	ck_assert_int_eq(pclose(f), 0);
	ck_assert_msg(found, "no loudness summary for %s", path);
	return lufs;
}

START_TEST(test_loudness_with_music)
{
	char *png = path_in_dir("m.png"), *quiet = path_in_dir("quiet.wav"), *loop = path_in_dir("loop.wav");
	char *out = path_in_dir("m.mp4"), err[256] = "";
	struct assemble_shot shots[] = {
		{ .image_path = png, .audio_path = quiet, .duration_ms = 2000 },
		{ .image_path = png, .duration_ms = 2000 },
		{ .image_path = png, .audio_path = quiet, .duration_ms = 2000 },
	};
	struct assemble_stats st;
	struct assemble_spec sp;
	struct probe p;
	double lufs, gap, tail;

	write_still(png, AV_CODEC_ID_PNG, 64, 64, 10);
	run_cmd("ffmpeg -v error -y -f lavfi -i 'sine=f=300:r=22050:d=1.5' -af volume=0.05 '%s'", quiet);
	spec_init(&sp, shots, 3, out);
	sp.music = "calm";
	ck_assert_msg(assemble_mp4(&sp, &st, err, sizeof(err)) == 0, "calm: %s", err);
	lufs = measure_lufs(out);
	ck_assert_msg(fabs(lufs + 14) <= 1, "integrated loudness %.1f LUFS", lufs);
	probe_file(out, &p);
	ck_assert_msg(fabs(p.aduration - p.vduration) <= 1.0 / FPS, "a %.3f v %.3f", p.aduration, p.vduration);
	/* The music fills the pause in shot 1 and fades out at the very end. */
	gap = rms(&p, 2.6, 3.6);
	tail = rms(&p, 5.9, 5.99);
	ck_assert_msg(gap > 0.02, "music in the pause: %.4f", gap);
	ck_assert_msg(tail < gap / 4, "faded out: %.4f vs %.4f", tail, gap);
	probe_free(&p);

	/* A short music file is looped over the whole video. */
	run_cmd("ffmpeg -v error -y -f lavfi -i 'sine=f=500:r=44100:d=0.5' '%s'", loop);
	sp.music = loop;
	ck_assert_msg(assemble_mp4(&sp, NULL, err, sizeof(err)) == 0, "loop: %s", err);
	probe_file(out, &p);
	ck_assert_msg(rms(&p, 2.6, 3.6) > 0.02, "looped music in the pause: %.4f", rms(&p, 2.6, 3.6));
	ck_assert_msg(fabs(measure_lufs(out) + 14) <= 1, "loudness with a music file");
	probe_free(&p);

	sp.music = "no-such-track";
	ck_assert_int_eq(assemble_mp4(&sp, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no-such-track"));
	free(png);
	free(quiet);
	free(loop);
	free(out);
}
END_TEST

START_TEST(test_silence_stays_silent)
{
	char *png = path_in_dir("s.png"), *silent = path_in_dir("silent.wav"), *out = path_in_dir("s.mp4");
	struct assemble_shot shot = { .image_path = png, .audio_path = silent, .duration_ms = 800 };
	struct assemble_stats st;
	struct assemble_spec sp;
	char err[256] = "";
	struct probe p;

	write_still(png, AV_CODEC_ID_PNG, 64, 64, 10);
	run_cmd("ffmpeg -v error -y -f lavfi -i 'anullsrc=r=8000:cl=mono' -t 0.5 '%s'", silent);
	spec_init(&sp, &shot, 1, out);
	ck_assert_msg(assemble_mp4(&sp, &st, err, sizeof(err)) == 0, "%s", err);
	ck_assert_double_lt(st.loudness, -69);
	probe_file(out, &p);
	ck_assert_double_lt(rms(&p, 0, 0.75), 1e-4);
	ck_assert_int_eq(p.frames, 20);
	probe_free(&p);
	free(png);
	free(silent);
	free(out);
}
END_TEST

/* Mean absolute luma difference of two grabbed frames over rows [y0, y1). */
static double diff_rows(const struct probe *a, const struct probe *b, int y0, int y1)
{
	double sum = 0;

	for (int y = y0; y < y1; y++)
		for (int x = 0; x < a->width; x++)
			sum += abs(a->grabbed[y * a->width + x] - b->grabbed[y * a->width + x]);
	return sum / ((double)(y1 - y0) * a->width);
}

START_TEST(test_burned_chinese_subtitles)
{
	char *png = path_in_dir("c.png"), *plain = path_in_dir("plain.mp4"), *burned = path_in_dir("burned.mp4");
	struct assemble_shot shot = { .image_path = png, .duration_ms = 2000, .camera = "static" };
	struct assemble_spec sp;
	struct probe a, b;
	struct subs subs;
	char err[256] = "", *ass;

	write_still(png, AV_CODEC_ID_PNG, 64, 64, 0);
	spec_init(&sp, &shot, 1, plain);
	ck_assert_msg(assemble_mp4(&sp, NULL, err, sizeof(err)) == 0, "%s", err);
	subtitles_init(&subs);
	subtitles_add_shot(&subs, 0, NULL, "月光照在安静的港口上，灯笼轻轻摇晃，远处传来渔船归来的声音。", 0, 2000,
			   subtitles_columns(W, H));
	ass = subtitles_ass(&subs, 0, 0, W, H);
	ck_assert_ptr_nonnull(ass);
	shot.subtitles = ass;
	sp.out_path = burned;
	ck_assert_msg(assemble_mp4(&sp, NULL, err, sizeof(err)) == 0, "%s", err);
	probe_frame(plain, &a, 12);
	probe_frame(burned, &b, 12);
	ck_assert_ptr_nonnull(a.grabbed);
	ck_assert_ptr_nonnull(b.grabbed);
	/* The text sits in the lower part of the frame and nowhere else. */
	ck_assert_msg(diff_rows(&a, &b, H * 3 / 5, H) > 4, "subtitle area differs by %.2f",
		      diff_rows(&a, &b, H * 3 / 5, H));
	ck_assert_msg(diff_rows(&a, &b, 0, H / 3) < 1, "top differs by %.2f", diff_rows(&a, &b, 0, H / 3));
	probe_free(&a);
	probe_free(&b);
	subtitles_release(&subs);
	free(ass);
	free(png);
	free(plain);
	free(burned);
}
END_TEST

/* A two-pole low-pass at about 700 Hz: the music's band, without the voice's 5 kHz tone. */
static double low_band_rms(const struct probe *p, double from, double to)
{
	const double a = 1 - exp(-2 * M_PI * 700.0 / 48000);
	double y1 = 0, y2 = 0, sum = 0;
	size_t i0 = (size_t)(from * 48000), i1 = (size_t)(to * 48000);

	ck_assert_uint_le(i1, p->n_pcm);
	for (size_t i = 0; i < i1; i++) {
		y1 += a * (p->pcm[i] - y1);
		y2 += a * (y1 - y2);
		if (i >= i0)
			sum += y2 * y2;
	}
	return sqrt(sum / (double)(i1 - i0));
}

START_TEST(test_music_ducked_under_voice)
{
	char *png = path_in_dir("d.png"), *voice = path_in_dir("voice.wav"), *out = path_in_dir("d.mp4");
	struct assemble_shot shots[] = {
		{ .image_path = png, .audio_path = voice, .duration_ms = 2000 },
		{ .image_path = png, .duration_ms = 2000 },
		{ .image_path = png, .duration_ms = 3000 },
	};
	struct assemble_spec sp;
	char err[256] = "";
	struct probe p;
	double under, alone;

	write_still(png, AV_CODEC_ID_PNG, 64, 64, 10);
	run_cmd("ffmpeg -v error -y -f lavfi -i 'sine=f=5000:r=48000:d=2' -af volume=0.5 '%s'", voice);
	spec_init(&sp, shots, 3, out);
	sp.music = "pulse";
	ck_assert_msg(assemble_mp4(&sp, NULL, err, sizeof(err)) == 0, "%s", err);
	probe_file(out, &p);
	/* The same loop plays in both windows (the track repeats every 0.5 s). */
	under = low_band_rms(&p, 0.5, 1.5);
	alone = low_band_rms(&p, 2.5, 3.5);
	ck_assert_msg(under < alone / 2, "music under the voice %.4f, alone %.4f", under, alone);
	probe_free(&p);
	free(png);
	free(voice);
	free(out);
}
END_TEST

static Suite *mix_suite(void)
{
	Suite *s = suite_create("assemble_mix");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_loudness_with_music);
	tcase_add_test(tc, test_music_ducked_under_voice);
	tcase_add_test(tc, test_silence_stays_silent);
	tcase_add_test(tc, test_burned_chinese_subtitles);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(mix_suite());
}
