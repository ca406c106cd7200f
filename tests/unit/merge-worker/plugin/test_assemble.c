/*
 * Unit tests for assemble_mp4's picture: stills (PNG, JPEG) and clips
 * written here, assembled at a small size, then the MP4 is decoded back and
 * measured: streams per aspect ratio, durations, camera moves, cuts and
 * crossfades, clip timing, cached segments on re-merge, cancel, bad media.
 */
#include <pthread.h>
#include <sys/stat.h>

#include "assemble_fixture.h"
#include "assemble_still.h"
#include "log.h"
#include "media.h"

#define ZOOM 1.15 /* the camera's range, as assemble_still.c draws it */

struct progress_log {
	int calls;
	double last;
	int backwards;
	atomic_int *cancel_at_fifth; /* when set, raised once a fifth is done */
	double max_seen;
};

static void on_progress(void *arg, double fraction)
{
	struct progress_log *pl = arg;

	pl->calls++;
	pl->backwards |= fraction < pl->last;
	pl->last = fraction;
	pl->max_seen = fmax(pl->max_seen, fraction);
	if (pl->cancel_at_fifth && fraction >= 0.2)
		atomic_store(pl->cancel_at_fifth, 1);
}

/* Square widths in [from, to) grow (or shrink) smoothly from a to b: never
 * back, never more than the eased move's peak speed (1.5 times its mean). */
static void check_zoom(const struct probe *p, int from, int to, double a, double b)
{
	double mean_step = fabs(b - a) / (to - from - 1);

	ck_assert_msg(fabs(p->square[from] - a) < 3, "frame %d: square %.1f, want %.1f", from, p->square[from], a);
	ck_assert_msg(fabs(p->square[to - 1] - b) < 3, "frame %d: square %.1f, want %.1f", to - 1, p->square[to - 1],
		      b);
	for (int i = from + 1; i < to; i++) {
		double d = (p->square[i] - p->square[i - 1]) * (b > a ? 1 : -1);

		ck_assert_msg(d > -0.4 && d < 1.6 * mean_step + 0.4, "frame %d: zoom stepped by %.2f px", i, d);
	}
}

START_TEST(test_three_shots)
{
	char *png = path_in_dir("wide.png"), *jpg = path_in_dir("square.jpg");
	char *wav1 = path_in_dir("short.wav"), *wav2 = path_in_dir("long.wav");
	char *out = path_in_dir("out.mp4"), err[256] = "";
	/* Shot 0: narration shorter than the shot; 1: longer; 2: none. Shot 1
	 * starts between frames (30.25), so audio and video round differently. */
	struct assemble_shot shots[] = {
		{ .image_path = png, .audio_path = wav1, .duration_ms = 1210, .camera = "zoom_in" },
		{ .image_path = jpg, .audio_path = wav2, .duration_ms = 790, .camera = "zoom_out" },
		{ .image_path = png, .duration_ms = 1000 },
	};
	struct progress_log pl = { 0 };
	struct assemble_stats st;
	struct assemble_spec sp;
	struct probe p;

	write_still(png, AV_CODEC_ID_PNG, 480, 270, 100);
	write_still(jpg, AV_CODEC_ID_MJPEG, 300, 300, 100);
	write_wav(wav1, 22050, 1, 1000);
	write_wav(wav2, 44100, 2, 1500);
	spec_init(&sp, shots, 3, out);
	sp.progress = on_progress;
	sp.progress_arg = &pl;
	ck_assert_msg(assemble_mp4(&sp, &st, err, sizeof(err)) == 0, "assemble: %s", err);
	ck_assert_int_gt(pl.calls, 10);
	ck_assert(!pl.backwards);
	ck_assert_double_eq(pl.last, 1.0);
	ck_assert_int_eq(st.segments_encoded, 3);
	ck_assert_int_eq(st.segments_reused, 0);

	probe_file(out, &p);
	ck_assert_int_eq(p.n_video, 1);
	ck_assert_int_eq(p.n_audio, 1);
	ck_assert_int_eq(p.vcodec, AV_CODEC_ID_H264);
	ck_assert_int_eq(p.acodec, AV_CODEC_ID_AAC);
	ck_assert_int_eq(p.width, W);
	ck_assert_int_eq(p.height, H);
	ck_assert_int_eq(p.pix_fmt, AV_PIX_FMT_YUV420P);
	ck_assert_int_eq(p.sample_rate, 48000);
	ck_assert_int_eq(p.frames, 75);
	ck_assert_msg(fabs(p.duration - 3.0) <= 0.04, "duration %.3f", p.duration);
	ck_assert_msg(fabs(p.vduration - 3.0) <= 0.04, "video %.3f", p.vduration);
	ck_assert_msg(fabs(p.aduration - p.vduration) <= 1.0 / FPS, "audio %.3f", p.aduration);
	ck_assert_msg(fabs((double)p.n_pcm / 48000 - 3.0) <= 0.03, "pcm %zu", p.n_pcm);

	/* Cover fit: the 270-high still fills 640 rows, so no bars; the square
	 * scales by 640/270 at zoom 1 and 15% more at the far end. */
	for (int i = 0; i < 75; i++)
		ck_assert_msg(p.corner[i] > 150, "frame %d: corner luma %d", i, p.corner[i]);
	check_zoom(&p, 0, 30, 100 * 640 / 270.0, 100 * 640 / 270.0 * ZOOM);
	check_zoom(&p, 30, 50, 100 * 640 / 300.0 * ZOOM, 100 * 640 / 300.0);

	/* Tone 0..1.0 s, silence to 1.21, tone from 1.21 trimmed at 2.0, silence
	 * to 3.0: each shot's narration starts with its picture. */
	ck_assert_double_gt(rms(&p, 0.05, 0.95), 0.1);
	ck_assert_double_lt(rms(&p, 1.05, 1.15), 0.01);
	ck_assert_double_gt(rms(&p, 1.25, 1.95), 0.1);
	ck_assert_double_lt(rms(&p, 2.05, 2.95), 0.01);
	ck_assert_msg(fabs(onset(&p, 1.1) - 1.21) < 0.01, "shot 1 sounds at %.4f s", onset(&p, 1.1));

	ck_assert_int_ge(box_index(out, "moov"), 0);
	ck_assert_int_lt(box_index(out, "moov"), box_index(out, "mdat"));
	probe_free(&p);
	free(png);
	free(jpg);
	free(wav1);
	free(wav2);
	free(out);
}
END_TEST

/* Every aspect ratio and resolution the API offers, probed for its streams. */
START_TEST(test_frame_sizes)
{
	static const char *const aspects[] = { "9:16", "16:9", "1:1", "4:5" }, *const res[] = { "720p", "1080p" };
	char *png = path_in_dir("s.png"), *wav = path_in_dir("s.wav"), *out = path_in_dir("s.mp4"), err[256] = "";
	struct assemble_shot shot = { .image_path = png, .audio_path = wav, .duration_ms = 200 };
	struct assemble_spec sp;

	write_still(png, AV_CODEC_ID_PNG, 320, 240, 40);
	write_wav(wav, 16000, 1, 150);
	for (size_t a = 0; a < ARRAY_SIZE(aspects); a++)
		for (size_t r = 0; r < ARRAY_SIZE(res); r++) {
			struct probe p;
			int w, h;

			ck_assert_int_eq(media_frame_size(aspects[a], res[r], &w, &h), 0);
			spec_init(&sp, &shot, 1, out);
			sp.width = w;
			sp.height = h;
			ck_assert_msg(assemble_mp4(&sp, NULL, err, sizeof(err)) == 0, "%s %s: %s", aspects[a], res[r],
				      err);
			probe_file(out, &p);
			ck_assert_int_eq(p.width, w);
			ck_assert_int_eq(p.height, h);
			ck_assert_int_eq((w < h ? w : h), res[r][0] == '7' ? 720 : 1080);
			ck_assert_int_eq(p.vcodec, AV_CODEC_ID_H264);
			ck_assert_int_eq(p.acodec, AV_CODEC_ID_AAC);
			ck_assert_int_eq(p.pix_fmt, AV_PIX_FMT_YUV420P);
			ck_assert_int_eq(p.frames, 5);
			ck_assert_msg(fabs(p.aduration - p.vduration) <= 1.0 / FPS, "a %.3f v %.3f", p.aduration,
				      p.vduration);
			probe_free(&p);
		}
	free(png);
	free(wav);
	free(out);
}
END_TEST

START_TEST(test_cut_and_crossfade)
{
	char *light = path_in_dir("light.png"), *dark = path_in_dir("dark.png"), *out = path_in_dir("x.mp4");
	struct assemble_shot shots[] = {
		{ .image_path = light, .duration_ms = 1000, .camera = "static" },
		{ .image_path = dark, .duration_ms = 1000, .camera = "static" },
	};
	struct assemble_spec sp;
	struct assemble_stats st;
	char err[256] = "";
	struct probe p;

	write_still(light, AV_CODEC_ID_PNG, 64, 64, 0);  /* no square: all gray */
	write_still(dark, AV_CODEC_ID_PNG, 64, 64, 200); /* the square covers it: all dark */
	spec_init(&sp, shots, 2, out);
	ck_assert_msg(assemble_mp4(&sp, NULL, err, sizeof(err)) == 0, "cut: %s", err);
	probe_file(out, &p);
	/* Cut: shot 1 starts exactly at frame 25. */
	ck_assert_int_eq(p.frames, 50);
	ck_assert_double_gt(p.top[24], 150);
	ck_assert_double_lt(p.top[25], 60);
	probe_free(&p);

	sp.transition = "fade";
	sp.transition_ms = 400;
	ck_assert_msg(assemble_mp4(&sp, &st, err, sizeof(err)) == 0, "fade: %s", err);
	ck_assert_int_eq(st.segments_encoded, 3); /* two bodies and the crossfade */
	probe_file(out, &p);
	ck_assert_int_eq(p.frames, 50);
	ck_assert_msg(fabs(p.vduration - 2.0) <= 0.04, "video %.3f", p.vduration);
	/* Ten crossfade frames centred on the boundary: [20, 30). */
	ck_assert_double_gt(p.top[19], 150);
	ck_assert_msg(p.top[25] < 140 && p.top[25] > 70, "mid-fade luma %.1f", p.top[25]);
	ck_assert_double_lt(p.top[30], 60);
	for (int i = 21; i < 30; i++)
		ck_assert_msg(p.top[i] < p.top[i - 1] + 1, "frame %d brightens", i);
	probe_free(&p);

	sp.transition = "wipeleft";
	ck_assert_msg(assemble_mp4(&sp, NULL, err, sizeof(err)) == 0, "wipeleft: %s", err);
	sp.transition = "spin";
	ck_assert_int_eq(assemble_mp4(&sp, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "spin"));
	free(light);
	free(dark);
	free(out);
}
END_TEST

START_TEST(test_clip)
{
	char *clip = path_in_dir("clip.mkv"), *out = path_in_dir("c.mp4"), err[256] = "";
	/* An odd-sized clip, red for 0.3 s at 10 fps then blue for 0.3 s at 7 fps
	 * (variable frame rate), in a 1 s shot: blue is held to the end. */
	struct assemble_shot shot = { .video_path = clip, .duration_ms = 1000 };
	struct assemble_spec sp;
	struct probe p;

	run_cmd("ffmpeg -v error -y -f lavfi -i 'color=c=red:s=321x179:r=10:d=0.3' -f lavfi "
		"-i 'color=c=blue:s=321x179:r=7:d=0.3' -filter_complex '[0][1]concat=n=2' -fps_mode passthrough "
		"-c:v ffv1 '%s'",
		clip);
	spec_init(&sp, &shot, 1, out);
	ck_assert_msg(assemble_mp4(&sp, NULL, err, sizeof(err)) == 0, "clip: %s", err);
	probe_file(out, &p);
	ck_assert_int_eq(p.frames, 25);
	ck_assert_int_eq(p.width, W);
	for (int i = 0; i < 7; i++) /* red: Cr high */
		ck_assert_msg(p.cr[i] > 200 && p.cb[i] < 120, "frame %d: cb %.0f cr %.0f", i, p.cb[i], p.cr[i]);
	for (int i = 9; i < 25; i++) /* blue, held after the clip ended at 0.6 s */
		ck_assert_msg(p.cb[i] > 200 && p.cr[i] < 130, "frame %d: cb %.0f cr %.0f", i, p.cb[i], p.cr[i]);
	for (int i = 0; i < 25; i++) /* covered: no black bars */
		ck_assert_msg(p.corner[i] > 20, "frame %d: corner %d", i, p.corner[i]);
	probe_free(&p);

	/* Longer than its shot: trimmed. */
	shot.duration_ms = 200;
	ck_assert_msg(assemble_mp4(&sp, NULL, err, sizeof(err)) == 0, "trim: %s", err);
	probe_file(out, &p);
	ck_assert_int_eq(p.frames, 5);
	ck_assert_double_gt(p.cr[4], 200);
	probe_free(&p);
	free(clip);
	free(out);
}
END_TEST

static void expect_failure(const struct assemble_shot *shot, const char *needle)
{
	char *out = path_in_dir("fail.mp4"), err[512] = "";
	struct assemble_spec sp;

	spec_init(&sp, shot, 1, out);
	ck_assert_int_eq(assemble_mp4(&sp, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"", err, needle);
	ck_assert_int_ne(access(out, F_OK), 0);
	free(out);
}

START_TEST(test_bad_inputs)
{
	char *png = path_in_dir("ok.png"), *wav = path_in_dir("ok.wav"), *missing = path_in_dir("missing.png");
	char *junk_png = path_in_dir("junk.png"), *junk_wav = path_in_dir("junk.wav"), *gone = path_in_dir("gone.wav");
	char *empty = path_in_dir("empty.wav"), *wide = path_in_dir("wide.png"), junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 % 251);
	write_file(junk_png, junk, sizeof(junk));
	write_file(junk_wav, junk, sizeof(junk));
	write_file(empty, "", 0);
	write_still(png, AV_CODEC_ID_PNG, 64, 64, 10);
	write_still(wide, AV_CODEC_ID_PNG, 20000, 40, 10);
	write_wav(wav, 16000, 1, 200);

	expect_failure(&(struct assemble_shot){ .image_path = missing, .audio_path = wav, .duration_ms = 400 },
		       missing);
	expect_failure(&(struct assemble_shot){ .image_path = junk_png, .audio_path = wav, .duration_ms = 400 },
		       "cannot decode");
	expect_failure(&(struct assemble_shot){ .image_path = png, .audio_path = junk_wav, .duration_ms = 400 },
		       junk_wav);
	expect_failure(&(struct assemble_shot){ .image_path = png, .audio_path = gone, .duration_ms = 400 }, gone);
	expect_failure(&(struct assemble_shot){ .image_path = png, .audio_path = empty, .duration_ms = 400 }, "audio");
	expect_failure(&(struct assemble_shot){ .image_path = png, .audio_path = wav, .duration_ms = 0 }, "duration");
	expect_failure(&(struct assemble_shot){ .image_path = wide, .duration_ms = 400 }, "20000x40 is too elongated");
	expect_failure(&(struct assemble_shot){ .video_path = wav, .duration_ms = 400 }, "no video stream");
	free(png);
	free(wav);
	free(missing);
	free(junk_png);
	free(junk_wav);
	free(gone);
	free(empty);
	free(wide);
}
END_TEST

START_TEST(test_bad_settings)
{
	char *png = path_in_dir("ok.png"), *out = path_in_dir("x.mp4"), err[256] = "";
	struct assemble_shot shot = { .image_path = png, .duration_ms = 400 };
	struct assemble_spec sp;

	write_still(png, AV_CODEC_ID_PNG, 64, 64, 10);
	spec_init(&sp, &shot, 1, out);
	sp.width = 361;
	ck_assert_int_eq(assemble_mp4(&sp, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "361x640"));
	spec_init(&sp, &shot, 1, out);
	sp.preset = "warp-speed";
	ck_assert_int_eq(assemble_mp4(&sp, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "warp-speed"));
	spec_init(&sp, &shot, 1, out);
	sp.transition = "fade";
	sp.transition_ms = 5000;
	ck_assert_int_eq(assemble_mp4(&sp, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "transition_ms"));
	ck_assert_int_ne(access(out, F_OK), 0);
	free(png);
	free(out);
}
END_TEST

START_TEST(test_cancel)
{
	char *png = path_in_dir("c.png"), *out = path_in_dir("c.mp4"), err[256] = "";
	struct assemble_shot shots[] = { { .image_path = png, .duration_ms = 2000 },
					 { .image_path = png, .duration_ms = 2000 } };
	atomic_int cancel = 0;
	struct progress_log pl = { .cancel_at_fifth = &cancel };
	struct assemble_spec sp;

	write_still(png, AV_CODEC_ID_PNG, 100, 100, 20);
	spec_init(&sp, shots, 2, out);
	sp.cancel = &cancel;
	sp.progress = on_progress;
	sp.progress_arg = &pl;
	ck_assert_int_eq(assemble_mp4(&sp, NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "canceled");
	ck_assert_int_eq(atomic_load(&cancel), 1);
	ck_assert_double_lt(pl.max_seen, 0.3);
	ck_assert_int_ne(access(out, F_OK), 0);
	free(png);
	free(out);
}
END_TEST

/* What a watcher on another thread does (merge-worker's loop): raise the flag once the encode is well on. */
struct canceler {
	atomic_int permille; /* the encode's progress */
	atomic_int cancel;
};

/* Holds the encoding thread once past the mark until the flag is up, so the
 * cancel lands mid-encode however the threads are scheduled. */
static void on_progress_permille(void *arg, double fraction)
{
	struct canceler *c = arg;

	atomic_store(&c->permille, (int)(fraction * 1000));
	while (fraction >= 0.42 && !atomic_load(&c->cancel))
		usleep(1000);
}

static void *cancel_midway(void *arg)
{
	struct canceler *c = arg;

	while (atomic_load(&c->permille) < 420) /* in the crossfade, or about */
		usleep(1000);
	atomic_store(&c->cancel, 1);
	return NULL;
}

/* Every file in dir whose name contains part, as a count. */
static int files_with(const char *path, const char *part)
{
	char cmd[256], line[64] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "find '%s' -name '*%s*' | wc -l", path, part);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	pclose(f);
	return atoi(line);
}

/* A cancel from another thread mid-crossfade: the encode stops, and leaves
 * no output, work folder or partial segment; LeakSanitizer (this test's
 * process) finds every encoder, filter graph and muxer freed. */
START_TEST(test_cancel_from_another_thread)
{
	char *png = path_in_dir("t.png"), *out = path_in_dir("t.mp4"), *cache = path_in_dir("cache"), err[256] = "";
	struct assemble_shot shots[] = { { .image_path = png, .duration_ms = 2000 },
					 { .image_path = png, .duration_ms = 2000, .camera = "pan_left" } };
	struct canceler c = { 0 };
	struct assemble_spec sp;
	pthread_t th;

	write_still(png, AV_CODEC_ID_PNG, 100, 100, 20);
	ck_assert_int_eq(mkdir(cache, 0755), 0);
	spec_init(&sp, shots, 2, out);
	sp.transition = "fade";
	sp.transition_ms = 500;
	sp.cache_dir = cache;
	sp.cancel = &c.cancel;
	sp.progress = on_progress_permille;
	sp.progress_arg = &c;
	ck_assert_int_eq(pthread_create(&th, NULL, cancel_midway, &c), 0);
	ck_assert_int_eq(assemble_mp4(&sp, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_str_eq(err, "canceled");
	ck_assert_int_lt(atomic_load(&c.permille), 1000);
	ck_assert_int_ne(access(out, F_OK), 0);
	ck_assert_int_eq(files_with(dir, "assemble-"), 0);
	ck_assert_int_eq(files_with(cache, ".tmp"), 0);
	free(png);
	free(out);
	free(cache);
}
END_TEST

/* Re-merge after one shot changed: only its segment (and crossfades beside it) is encoded again. */
START_TEST(test_remerge)
{
	char *a = path_in_dir("a.png"), *b = path_in_dir("b.png"), *out = path_in_dir("r.mp4");
	char *cache = path_in_dir("cache"), err[256] = "";
	struct assemble_shot shots[] = { { .image_path = a, .duration_ms = 600 },
					 { .image_path = a, .duration_ms = 600 },
					 { .image_path = a, .duration_ms = 600 } };
	struct assemble_stats st;
	struct assemble_spec sp;
	struct probe p;

	write_still(a, AV_CODEC_ID_PNG, 100, 100, 20);
	write_still(b, AV_CODEC_ID_PNG, 100, 100, 60);
	ck_assert_int_eq(mkdir(cache, 0700), 0);
	spec_init(&sp, shots, 3, out);
	sp.cache_dir = cache;
	ck_assert_msg(assemble_mp4(&sp, &st, err, sizeof(err)) == 0, "first: %s", err);
	ck_assert_int_eq(st.segments_encoded, 3);
	ck_assert_msg(assemble_mp4(&sp, &st, err, sizeof(err)) == 0, "again: %s", err);
	ck_assert_int_eq(st.segments_encoded, 0);
	ck_assert_int_eq(st.segments_reused, 3);
	shots[1].image_path = b;
	ck_assert_msg(assemble_mp4(&sp, &st, err, sizeof(err)) == 0, "changed: %s", err);
	ck_assert_int_eq(st.segments_encoded, 1);
	ck_assert_int_eq(st.segments_reused, 2);
	probe_file(out, &p);
	ck_assert_int_eq(p.frames, 45);
	ck_assert_msg(p.square[22] > p.square[7] + 20, "the changed shot shows: %.1f vs %.1f", p.square[22],
		      p.square[7]);
	probe_free(&p);

	sp.transition = "dissolve";
	sp.transition_ms = 200;
	ck_assert_msg(assemble_mp4(&sp, &st, err, sizeof(err)) == 0, "dissolve: %s", err);
	ck_assert_int_eq(st.segments_encoded, 5);
	shots[1].image_path = a;
	ck_assert_msg(assemble_mp4(&sp, &st, err, sizeof(err)) == 0, "dissolve again: %s", err);
	ck_assert_int_eq(st.segments_encoded, 3); /* shot 1's body and both crossfades */
	ck_assert_int_eq(st.segments_reused, 2);
	free(a);
	free(b);
	free(out);
	free(cache);
}
END_TEST

START_TEST(test_poster_and_digest)
{
	char *png = path_in_dir("p.png"), *out = path_in_dir("p.mp4"), *jpg = path_in_dir("p.jpg"), *txt;
	struct assemble_shot shot = { .image_path = png, .duration_ms = 400 };
	struct assemble_spec sp;
	char err[256] = "", hex[65];
	int64_t bytes;
	AVFrame *f = av_frame_alloc();

	write_still(png, AV_CODEC_ID_PNG, 100, 100, 20);
	spec_init(&sp, &shot, 1, out);
	ck_assert_msg(assemble_mp4(&sp, NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(assemble_files_poster(out, 200, jpg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(assemble__decode_image(jpg, f, err, sizeof(err)), 0);
	ck_assert_int_eq(f->width, W);
	ck_assert_int_eq(f->height, H);
	ck_assert_int_eq(assemble_files_poster(jpg + 1, 0, jpg, err, sizeof(err)), -1);

	txt = path_in_dir("abc.txt");
	write_file(txt, "abc", 3);
	ck_assert_int_eq(assemble_files_sha256(txt, hex, &bytes), 0);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(bytes, 3);
	av_frame_free(&f);
	free(png);
	free(out);
	free(jpg);
	free(txt);
}
END_TEST

struct job {
	const char *png, *wav;
	char *out;
	int rc;
	char err[256];
};

static void *run_job(void *arg)
{
	struct job *j = arg;
	struct assemble_shot shot = { .image_path = j->png, .audio_path = j->wav, .duration_ms = 1000 };
	struct assemble_spec sp;

	spec_init(&sp, &shot, 1, j->out);
	sp.width = 180;
	sp.height = 320;
	j->rc = assemble_mp4(&sp, NULL, j->err, sizeof(j->err));
	return NULL;
}

START_TEST(test_concurrent)
{
	char *png = path_in_dir("t.png"), *wav = path_in_dir("t.wav");
	struct job jobs[3];
	pthread_t th[3];

	write_still(png, AV_CODEC_ID_PNG, 640, 360, 50);
	write_wav(wav, 24000, 1, 700);
	for (int i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "t%d.mp4", i);
		jobs[i] = (struct job){ .png = png, .wav = wav, .out = path_in_dir(name) };
		ck_assert_int_eq(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		struct probe p;

		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_msg(jobs[i].rc == 0, "job %d: %s", i, jobs[i].err);
		probe_file(jobs[i].out, &p);
		ck_assert_int_eq(p.frames, 25);
		ck_assert_int_eq(p.width, 180);
		ck_assert_msg(fabs(p.duration - 1.0) <= 0.04, "duration %.3f", p.duration);
		ck_assert_double_gt(rms(&p, 0.1, 0.6), 0.1);
		ck_assert_double_lt(rms(&p, 0.75, 0.95), 0.01);
		probe_free(&p);
		free(jobs[i].out);
	}
	free(png);
	free(wav);
}
END_TEST

static Suite *assemble_suite(void)
{
	Suite *s = suite_create("assemble");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_three_shots);
	tcase_add_test(tc, test_frame_sizes);
	tcase_add_test(tc, test_cut_and_crossfade);
	tcase_add_test(tc, test_clip);
	tcase_add_test(tc, test_bad_inputs);
	tcase_add_test(tc, test_bad_settings);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_cancel_from_another_thread);
	tcase_add_test(tc, test_remerge);
	tcase_add_test(tc, test_poster_and_digest);
	tcase_add_test(tc, test_concurrent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(assemble_suite());
}
