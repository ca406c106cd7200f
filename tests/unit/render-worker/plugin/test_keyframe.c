/*
 * Unit tests for render-worker/keyframe: every keyframe is decoded back with
 * libavformat/libavcodec and checked for size, per-prompt difference,
 * determinism, drawn text, cleanup of the temp file and failure reporting.
 */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>

#include "keyframe.h"
#include "monotime.h"
#include "util.h"

#include "banned.h"

#define EN_PROMPT "A lighthouse keeper finds a glowing bottle on the rocks at dawn"
#define ZH_PROMPT "小猫在月光下的屋顶上散步"

/* A decoded picture: planes copied out of the decoder's frame. */
struct img {
	int w, h, cw, ch; /* luma and chroma sizes */
	int format, range;
	uint8_t *plane[3];
};

static char tmpdir[64];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_keyframe-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static char *out_path(const char *name)
{
	return xasprintf("%s/%s.jpg", tmpdir, name);
}

static void copy_frame(const AVFrame *f, struct img *im)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
	im->w = f->width;
	im->h = f->height;
	im->cw = AV_CEIL_RSHIFT(f->width, d->log2_chroma_w);
	im->ch = AV_CEIL_RSHIFT(f->height, d->log2_chroma_h);
	im->format = f->format;
	im->range = f->color_range;
	for (int p = 0; p < 3; p++) {
		int pw = p ? im->cw : im->w, ph = p ? im->ch : im->h;
		im->plane[p] = xmalloc((size_t)pw * ph);
		for (int y = 0; y < ph; y++)
			memcpy(im->plane[p] + (size_t)y * pw, f->data[p] + (size_t)y * f->linesize[p], (size_t)pw);
	}
}

static void decode(const char *path, struct img *im)
{
	AVFormatContext *fmt = NULL;
	ck_assert_int_eq(avformat_open_input(&fmt, path, NULL, NULL), 0);
	ck_assert_int_ge(avformat_find_stream_info(fmt, NULL), 0);
	ck_assert_int_eq(fmt->streams[0]->codecpar->codec_id, AV_CODEC_ID_MJPEG);
	const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	ck_assert_int_eq(avcodec_parameters_to_context(ctx, fmt->streams[0]->codecpar), 0);
	ck_assert_int_eq(avcodec_open2(ctx, codec, NULL), 0);
	AVPacket *pkt = av_packet_alloc();
	AVFrame *frame = av_frame_alloc();
	ck_assert_int_eq(av_read_frame(fmt, pkt), 0);
	ck_assert_int_eq(avcodec_send_packet(ctx, pkt), 0);
	ck_assert_int_eq(avcodec_receive_frame(ctx, frame), 0);
	copy_frame(frame, im);
	av_frame_free(&frame);
	av_packet_free(&pkt);
	avcodec_free_context(&ctx);
	avformat_close_input(&fmt);
}

static void img_free(struct img *im)
{
	for (int p = 0; p < 3; p++)
		free(im->plane[p]);
}

static void draw_ok(const char *prompt, int w, int h, const char *path)
{
	char err[256] = "";
	int rc = keyframe_draw(prompt, w, h, path, err, sizeof(err));
	ck_assert_msg(rc == 0, "keyframe_draw %dx%d failed: %s", w, h, err);
}

static void draw_decode(const char *prompt, int w, int h, const char *name, struct img *im)
{
	char *path = out_path(name);
	draw_ok(prompt, w, h, path);
	decode(path, im);
	free(path);
}

/* Mean absolute difference of 8x8 block averages over all three planes: the
 * visible difference, not JPEG noise. */
static double block_mad(const struct img *a, const struct img *b)
{
	double sum = 0;
	long blocks = 0;
	for (int p = 0; p < 3; p++) {
		int pw = p ? a->cw : a->w, ph = p ? a->ch : a->h;
		for (int by = 0; by + 8 <= ph; by += 8)
			for (int bx = 0; bx + 8 <= pw; bx += 8) {
				long sa = 0, sb = 0;
				for (int y = by; y < by + 8; y++)
					for (int x = bx; x < bx + 8; x++) {
						sa += a->plane[p][(size_t)y * pw + x];
						sb += b->plane[p][(size_t)y * pw + x];
					}
				sum += labs(sa - sb) / 64.0;
				blocks++;
			}
	}
	return blocks ? sum / blocks : 0;
}

/* Mean horizontal luma gradient over rows [y0, y1): smooth backgrounds score
 * near zero, glyph strokes score high. */
static double edge_energy(const struct img *im, int y0, int y1)
{
	double sum = 0;
	long n = 0;
	for (int y = y0; y < y1; y++)
		for (int x = 1; x < im->w; x++) {
			const uint8_t *row = im->plane[0] + (size_t)y * im->w;
			sum += abs(row[x] - row[x - 1]);
			n++;
		}
	return n ? sum / n : 0;
}

static double centre_edges(const struct img *im)
{
	return edge_energy(im, im->h * 2 / 5, im->h * 3 / 5);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	char *buf = xmalloc((size_t)n);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int same_file(const char *a, const char *b)
{
	size_t la, lb;
	char *da = read_all(a, &la), *db = read_all(b, &lb);
	int same = la == lb && memcmp(da, db, la) == 0;
	free(da);
	free(db);
	return same;
}

START_TEST(test_font_found)
{
	const char *font = keyframe_font();
	ck_assert_ptr_nonnull(font);
	ck_assert_int_eq(access(font, R_OK), 0);
	ck_assert_ptr_nonnull(strstr(font, "CJK"));
}
END_TEST

static const int sizes[][2] = {
	{ 1080, 1920 }, { 1920, 1080 }, { 1080, 1080 }, { 720, 1280 }, { 90, 160 }, { 101, 77 },
};

START_TEST(test_sizes)
{
	struct img im;
	char name[32];
	snprintf(name, sizeof(name), "size%d", _i);
	draw_decode(ZH_PROMPT, sizes[_i][0], sizes[_i][1], name, &im);
	ck_assert_int_eq(im.w, sizes[_i][0]);
	ck_assert_int_eq(im.h, sizes[_i][1]);
	ck_assert_msg(im.format == AV_PIX_FMT_YUVJ420P ||
			      (im.format == AV_PIX_FMT_YUV420P && im.range == AVCOL_RANGE_JPEG),
		      "decoded as %s", av_get_pix_fmt_name(im.format));
	img_free(&im);
}
END_TEST

START_TEST(test_prompts_differ)
{
	struct img en, zh, en_s, zh_s;
	draw_decode(EN_PROMPT, 1080, 1920, "en", &en);
	draw_decode(ZH_PROMPT, 1080, 1920, "zh", &zh);
	draw_decode(EN_PROMPT, 90, 160, "en_s", &en_s);
	draw_decode(ZH_PROMPT, 90, 160, "zh_s", &zh_s);
	double big = block_mad(&en, &zh), small = block_mad(&en_s, &zh_s);
	ck_assert_msg(big > 15.0, "1080x1920 prompts differ by only %.2f", big);
	ck_assert_msg(small > 15.0, "90x160 prompts differ by only %.2f", small);
	img_free(&en);
	img_free(&zh);
	img_free(&en_s);
	img_free(&zh_s);
}
END_TEST

/* Neighbouring shots often share most of their words. */
START_TEST(test_similar_prompts_differ)
{
	struct img a, b;
	draw_decode("Shot 1: the hero wakes up", 720, 1280, "s1", &a);
	draw_decode("Shot 2: the hero wakes up", 720, 1280, "s2", &b);
	double mad = block_mad(&a, &b);
	ck_assert_msg(mad > 10.0, "near-identical prompts differ by only %.2f", mad);
	img_free(&a);
	img_free(&b);
}
END_TEST

START_TEST(test_deterministic)
{
	char *p1 = out_path("d1"), *p2 = out_path("d2");
	draw_ok(ZH_PROMPT, 1080, 1920, p1);
	draw_ok(ZH_PROMPT, 1080, 1920, p2);
	ck_assert_msg(same_file(p1, p2), "same prompt gave different JPEG bytes");
	free(p1);
	free(p2);
}
END_TEST

START_TEST(test_text_is_drawn)
{
	struct img text, bare;
	draw_decode(ZH_PROMPT, 1080, 1920, "text", &text);
	draw_decode("", 1080, 1920, "bare", &bare);
	double with = centre_edges(&text), without = centre_edges(&bare);
	double top = edge_energy(&text, 0, text.h / 5);
	ck_assert_msg(with > 1.0 && with > 10 * without, "centre band edges %.2f with text, %.2f without", with,
		      without);
	ck_assert_msg(with > 3 * top, "text not centred: centre %.2f, top %.2f", with, top);
	img_free(&text);
	img_free(&bare);
}
END_TEST

/* An all-whitespace prompt is the bare background too, and no text at all. */
START_TEST(test_blank_prompt)
{
	struct img im;
	draw_decode(" \t\n ", 720, 1280, "blank", &im);
	ck_assert_msg(centre_edges(&im) < 0.3, "blank prompt drew something: %.2f", centre_edges(&im));
	img_free(&im);
}
END_TEST

START_TEST(test_long_prompt)
{
	static const char *const words[] = { "lighthouse",           "月光下的", "keeper", "屋顶", "a",
					     "supercalifragilistic", "小猫",     "dawn" };
	char *prompt = xmalloc(2001);
	size_t len = 0;
	for (int i = 0; len < 1980; i++)
		len += (size_t)snprintf(prompt + len, 2001 - len, "%s ", words[i % 8]);
	memset(prompt + len, 'x', 2000 - len);
	prompt[2000] = '\0';

	struct img big, small;
	draw_decode(prompt, 1080, 1920, "long", &big);
	draw_decode(prompt, 90, 160, "long_s", &small);
	ck_assert_int_eq(big.w, 1080);
	ck_assert_int_eq(big.h, 1920);
	ck_assert_int_eq(small.w, 90);
	ck_assert_msg(centre_edges(&big) > 4.0 && centre_edges(&small) > 4.0, "long prompt drew no text");
	img_free(&big);
	img_free(&small);
	free(prompt);
}
END_TEST

/* Characters that the filter-graph and drawtext syntaxes treat specially, and
 * bytes that are not UTF-8, must neither fail nor leak into the graph. */
START_TEST(test_special_characters)
{
	static const char *const prompts[] = {
		"50% off: it's a \\ [test], really; %{pts} %{localtime} 'q' \"x\"",
		"drawtext=text=x:fontfile=/etc/passwd,format=gray",
		"bad \xff\xfe utf-8 \xe5\xb0 tail\x01\x7f",
		"ＦＵＬＬ　ＷＩＤＴＨ、句読点。「引用」（括弧）",
	};
	for (size_t i = 0; i < ARRAY_SIZE(prompts); i++) {
		struct img im;
		char name[16];
		snprintf(name, sizeof(name), "sp%zu", i);
		draw_decode(prompts[i], 720, 1280, name, &im);
		ck_assert_int_eq(im.w, 720);
		ck_assert_msg(centre_edges(&im) > 1.0, "prompt %zu drew no text", i);
		img_free(&im);
	}
}
END_TEST

START_TEST(test_unwritable_path)
{
	char err[256] = "";
	ck_assert_int_eq(keyframe_draw(ZH_PROMPT, 720, 1280, "/nonexistent-dir/k.jpg", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/k.jpg"));
	err[0] = '\0';
	ck_assert_int_eq(keyframe_draw(ZH_PROMPT, 720, 1280, tmpdir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, tmpdir));
}
END_TEST

START_TEST(test_bad_arguments)
{
	char err[256] = "";
	char *path = out_path("bad");
	ck_assert_int_eq(keyframe_draw("x", 0, 100, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "size"));
	ck_assert_int_eq(keyframe_draw("x", 100, 100000, path, err, sizeof(err)), -1);
	ck_assert_int_eq(keyframe_draw(NULL, 100, 100, path, err, sizeof(err)), -1);
	ck_assert_int_eq(keyframe_draw("x", 100, 100, "", err, sizeof(err)), -1);
	ck_assert_int_eq(keyframe_draw("x", 100, 100, path, NULL, 0), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	free(path);
}
END_TEST

/* The prompt goes through a temp file; it must be gone afterwards. */
START_TEST(test_temp_file_removed)
{
	char *dir = xasprintf("%s/tmp", tmpdir);
	const char *old = getenv("TMPDIR");
	char *saved = old ? xstrdup(old) : NULL;
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(setenv("TMPDIR", dir, 1), 0);
	char *path = out_path("tmpcheck");
	draw_ok(EN_PROMPT, 720, 1280, path);
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	int left = 0;
	while ((e = readdir(d)))
		left += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	ck_assert_int_eq(left, 0);
	if (saved)
		ck_assert_int_eq(setenv("TMPDIR", saved, 1), 0);
	else
		ck_assert_int_eq(unsetenv("TMPDIR"), 0);
	free(saved);
	free(path);
	free(dir);
}
END_TEST

struct job {
	const char *prompt;
	char path[128];
	int rc;
	char err[256];
};

static void *draw_thread(void *arg)
{
	struct job *j = arg;
	j->rc = keyframe_draw(j->prompt, 720, 1280, j->path, j->err, sizeof(j->err));
	return NULL;
}

/* Concurrent draws must give exactly what serial draws give. */
START_TEST(test_concurrent)
{
	static const char *const prompts[] = {
		EN_PROMPT,
		ZH_PROMPT,
		"third shot",
		"第四个镜头",
	};
	struct job jobs[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){ .prompt = prompts[i] };
		snprintf(jobs[i].path, sizeof(jobs[i].path), "%s/par%d.jpg", tmpdir, i);
		ck_assert_int_eq(pthread_create(&th[i], NULL, draw_thread, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_msg(jobs[i].rc == 0, "thread %d: %s", i, jobs[i].err);
		char *serial = xasprintf("%s/ser%d.jpg", tmpdir, i);
		draw_ok(prompts[i], 720, 1280, serial);
		ck_assert_msg(same_file(serial, jobs[i].path), "thread %d output differs", i);
		free(serial);
	}
}
END_TEST

/* Well under a second in a release build (≈80 ms); the bound leaves room for
 * the sanitizers. */
START_TEST(test_speed)
{
	char *path = out_path("speed");
	uint64_t t0 = monotime_ms();
	for (int i = 0; i < 3; i++)
		draw_ok(EN_PROMPT, 1080, 1920, path);
	uint64_t each = (monotime_ms() - t0) / 3;
	fprintf(stderr, "keyframe_draw 1080x1920: %llu ms\n", (unsigned long long)each);
	ck_assert_msg(each < 2000, "keyframe_draw took %llu ms", (unsigned long long)each);
	free(path);
}
END_TEST

static Suite *keyframe_suite(void)
{
	Suite *s = suite_create("keyframe");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_font_found);
	tcase_add_loop_test(tc, test_sizes, 0, (int)ARRAY_SIZE(sizes));
	tcase_add_test(tc, test_prompts_differ);
	tcase_add_test(tc, test_similar_prompts_differ);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_text_is_drawn);
	tcase_add_test(tc, test_blank_prompt);
	tcase_add_test(tc, test_long_prompt);
	tcase_add_test(tc, test_special_characters);
	tcase_add_test(tc, test_unwritable_path);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_temp_file_removed);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_speed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(keyframe_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
