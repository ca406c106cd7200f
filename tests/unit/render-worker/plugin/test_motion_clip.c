/*
 * Unit tests for render-worker/motion_clip: a clip made from a drawn keyframe
 * is probed back with libavformat (one H.264 stream, the asked size, frame
 * rate and duration), its first and last frames differ (the camera moves),
 * and bad arguments fail with a reason and no file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "keyframe.h"
#include "motion_clip.h"
#include "util.h"

#include "banned.h"

static char tmpdir[64], still[128], clip[128];

static void setup(void)
{
	char err[256];
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_motion_clip-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(still, sizeof(still), "%s/still.jpg", tmpdir);
	snprintf(clip, sizeof(clip), "%s/clip.mp4", tmpdir);
	ck_assert_msg(keyframe_draw("A lighthouse at dusk over a dark sea", 360, 640, still, err, sizeof(err)) == 0,
		      "%s", err);
}

static void teardown(void)
{
	unlink(still);
	unlink(clip);
	rmdir(tmpdir);
}

struct probed {
	int streams, width, height, fps_num, fps_den;
	enum AVCodecID codec;
	double duration_s;
	long frames;
	long long first_luma, last_luma; /* sums of a row of luma of the first and last frames */
};

/* Sums the middle row's luma, a cheap fingerprint of what the frame shows. */
static long long row_sum(const AVFrame *f)
{
	long long sum = 0;
	const uint8_t *row = f->data[0] + (size_t)f->linesize[0] * (size_t)(f->height / 3);
	for (int x = 0; x < f->width; x++)
		sum += row[x] * (x + 1);
	return sum;
}

static void decode_all(AVFormatContext *fc, struct probed *p)
{
	const AVCodecParameters *par = fc->streams[0]->codecpar;
	const AVCodec *dec = avcodec_find_decoder(par->codec_id);
	AVCodecContext *ctx = avcodec_alloc_context3(dec);
	AVPacket *pkt = av_packet_alloc();
	AVFrame *frame = av_frame_alloc();
	ck_assert_int_eq(avcodec_parameters_to_context(ctx, par), 0);
	ck_assert_int_eq(avcodec_open2(ctx, dec, NULL), 0);
	for (int eof = 0; !eof;) {
		eof = av_read_frame(fc, pkt) < 0;
		avcodec_send_packet(ctx, eof ? NULL : pkt);
		av_packet_unref(pkt);
		while (avcodec_receive_frame(ctx, frame) == 0) {
			if (p->frames++ == 0)
				p->first_luma = row_sum(frame);
			p->last_luma = row_sum(frame);
		}
	}
	av_frame_free(&frame);
	av_packet_free(&pkt);
	avcodec_free_context(&ctx);
}

static struct probed probe(const char *path)
{
	struct probed p = { 0 };
	AVFormatContext *fc = NULL;
	ck_assert_int_eq(avformat_open_input(&fc, path, NULL, NULL), 0);
	ck_assert_int_ge(avformat_find_stream_info(fc, NULL), 0);
	p.streams = (int)fc->nb_streams;
	p.codec = fc->streams[0]->codecpar->codec_id;
	p.width = fc->streams[0]->codecpar->width;
	p.height = fc->streams[0]->codecpar->height;
	p.fps_num = fc->streams[0]->avg_frame_rate.num;
	p.fps_den = fc->streams[0]->avg_frame_rate.den;
	p.duration_s = (double)fc->duration / AV_TIME_BASE;
	decode_all(fc, &p);
	avformat_close_input(&fc);
	return p;
}

START_TEST(test_clip_matches_the_request)
{
	char err[256];
	ck_assert_msg(motion_clip_make(still, 360, 640, 25, 2000, clip, err, sizeof(err)) == 0, "%s", err);
	struct probed p = probe(clip);
	ck_assert_int_eq(p.streams, 1);
	ck_assert_int_eq(p.codec, AV_CODEC_ID_H264);
	ck_assert_int_eq(p.width, 360);
	ck_assert_int_eq(p.height, 640);
	ck_assert_int_eq(p.fps_num, 25 * p.fps_den);
	ck_assert_int_eq(p.frames, 50);
	ck_assert_double_eq_tol(p.duration_s, 2.0, 0.05);
	ck_assert_msg(p.first_luma != p.last_luma, "the camera did not move");
}
END_TEST

START_TEST(test_duration_rounds_up_and_is_clamped)
{
	char err[256];
	ck_assert_int_eq(motion_clip_make(still, 360, 640, 24, 1510, clip, err, sizeof(err)), 0);
	ck_assert_int_eq(probe(clip).frames, 37); /* 1.51 s at 24 fps: 36.24 frames, a whole one more */
	ck_assert_int_eq(motion_clip_make(still, 360, 640, 25, 100, clip, err, sizeof(err)), 0);
	ck_assert_double_eq_tol(probe(clip).duration_s, MOTION_CLIP_MIN_MS / 1000.0, 0.05);
}
END_TEST

START_TEST(test_bad_arguments)
{
	char err[256], missing[160];
	struct stat st;
	ck_assert_int_eq(motion_clip_make(still, 361, 640, 25, 2000, clip, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "361x640"));
	ck_assert_int_eq(motion_clip_make(still, 360, 640, 0, 2000, clip, err, sizeof(err)), -1);
	ck_assert_int_eq(motion_clip_make("/tmp/with space.jpg", 360, 640, 25, 2000, clip, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "path"));
	snprintf(missing, sizeof(missing), "%s/missing.jpg", tmpdir);
	ck_assert_int_eq(motion_clip_make(missing, 360, 640, 25, 2000, clip, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "filter graph"));
	ck_assert_int_ne(stat(clip, &st), 0);
}
END_TEST

static Suite *motion_clip_suite(void)
{
	Suite *s = suite_create("motion_clip");
	TCase *tc = tcase_create("clip");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_clip_matches_the_request);
	tcase_add_test(tc, test_duration_rounds_up_and_is_clamped);
	tcase_add_test(tc, test_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(motion_clip_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
