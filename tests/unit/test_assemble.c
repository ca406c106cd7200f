/*
 * Unit tests for assemble_mp4: stills (PNG, JPEG) and WAV tones written
 * here, assembled at a small size, then the MP4 is decoded back and
 * measured: streams, durations, zoom geometry, audio spans, box order.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "assemble.h"
#include "log.h"
#include "banned.h"

#define W 360
#define H 640
#define FPS 25
#define GRAY 200 /* full-range luma of the stills' background ... */
#define DARK 20  /* ... and of the square in their middle */
#define MAX_FRAMES 200

static char dir[64];

struct probe {
	int n_video, n_audio;
	enum AVCodecID vcodec, acodec;
	int width, height, pix_fmt, sample_rate;
	double duration, vduration, aduration; /* seconds */
	int frames;
	double square[MAX_FRAMES]; /* width of the dark square across the middle row */
	int corner[MAX_FRAMES];    /* luma of the top-left pixel */
	float *pcm;                /* left channel, decoded */
	size_t n_pcm;
};

static void setup(void)
{
	strlcpy_(dir, "/tmp/test_assemble.XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static char *path_in_dir(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

static void fill_still(AVFrame *f, int sq)
{
	int rgb = f->format == AV_PIX_FMT_RGB24;

	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < f->width; x++) {
			int in = abs(2 * x + 1 - f->width) < sq && abs(2 * y + 1 - f->height) < sq;
			uint8_t v = in ? DARK : GRAY;

			if (rgb)
				memset(f->data[0] + y * f->linesize[0] + 3 * x, v, 3);
			else
				f->data[0][y * f->linesize[0] + x] = v;
		}
	if (!rgb)
		for (int p = 1; p < 3; p++)
			for (int y = 0; y < (f->height + 1) / 2; y++)
				memset(f->data[p] + y * f->linesize[p], 128, (size_t)(f->width + 1) / 2);
}

/* A w x h still, gray with a centred dark square of side sq, as PNG or JPEG. */
static void write_still(const char *path, enum AVCodecID id, int w, int h, int sq)
{
	const AVCodec *codec = avcodec_find_encoder(id);
	AVCodecContext *enc = avcodec_alloc_context3(codec);
	AVFrame *f = av_frame_alloc();
	AVPacket *pkt = av_packet_alloc();

	enc->width = f->width = w;
	enc->height = f->height = h;
	enc->pix_fmt = f->format = id == AV_CODEC_ID_PNG ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_YUVJ420P;
	enc->time_base = (AVRational){ 1, 25 };
	ck_assert_int_eq(avcodec_open2(enc, codec, NULL), 0);
	ck_assert_int_eq(av_frame_get_buffer(f, 0), 0);
	fill_still(f, sq);
	ck_assert_int_eq(avcodec_send_frame(enc, f), 0);
	ck_assert_int_eq(avcodec_send_frame(enc, NULL), 0);
	ck_assert_int_eq(avcodec_receive_packet(enc, pkt), 0);
	write_file(path, pkt->data, (size_t)pkt->size);
	av_packet_free(&pkt);
	av_frame_free(&f);
	avcodec_free_context(&enc);
}

static void put_le(uint8_t *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A 16-bit PCM WAV: a 440 Hz tone at half scale lasting ms. */
static void write_wav(const char *path, int rate, int channels, int ms)
{
	size_t frames = (size_t)rate * (size_t)ms / 1000, data = frames * 2 * (size_t)channels;
	uint8_t *b = xcalloc(44 + data, 1);

	memcpy(b, "RIFF", 4);
	put_le(b + 4, (uint32_t)(36 + data), 4);
	memcpy(b + 8, "WAVEfmt ", 8);
	put_le(b + 16, 16, 4);
	put_le(b + 20, 1, 2);
	put_le(b + 22, (uint32_t)channels, 2);
	put_le(b + 24, (uint32_t)rate, 4);
	put_le(b + 28, (uint32_t)(rate * channels * 2), 4);
	put_le(b + 32, (uint32_t)(channels * 2), 2);
	put_le(b + 34, 16, 2);
	memcpy(b + 36, "data", 4);
	put_le(b + 40, (uint32_t)data, 4);
	for (size_t i = 0; i < frames; i++) {
		int16_t v = (int16_t)lrint(16384 * sin(2 * M_PI * 440 * (double)i / rate));

		for (int c = 0; c < channels; c++)
			put_le(b + 44 + 2 * (i * (size_t)channels + (size_t)c), (uint16_t)v, 2);
	}
	write_file(path, b, 44 + data);
	free(b);
}

/* The dark square's width on the middle row, to a fraction of a pixel. */
static double square_width(const AVFrame *f)
{
	const double gray = 16 + 219.0 * GRAY / 255, dark = 16 + 219.0 * DARK / 255;
	const uint8_t *row = f->data[0] + f->linesize[0] * (f->height / 2);
	double sum = 0;

	for (int x = 0; x < f->width; x++)
		sum += fmin(fmax((gray - row[x]) / (gray - dark), 0), 1);
	return sum;
}

static void take_video(struct probe *p, const AVFrame *f)
{
	p->width = f->width;
	p->height = f->height;
	p->pix_fmt = f->format;
	if (p->frames < MAX_FRAMES) {
		p->square[p->frames] = square_width(f);
		p->corner[p->frames] = f->data[0][0];
	}
	p->frames++;
}

static void take_audio(struct probe *p, const AVFrame *f)
{
	ck_assert_int_eq(f->format, AV_SAMPLE_FMT_FLTP);
	p->pcm = xrealloc(p->pcm, (p->n_pcm + (size_t)f->nb_samples) * sizeof(float));
	memcpy(p->pcm + p->n_pcm, f->data[0], (size_t)f->nb_samples * sizeof(float));
	p->n_pcm += (size_t)f->nb_samples;
}

static void drain(struct probe *p, AVCodecContext *dec, AVFrame *f)
{
	while (avcodec_receive_frame(dec, f) == 0) {
		if (dec->codec_type == AVMEDIA_TYPE_VIDEO)
			take_video(p, f);
		else
			take_audio(p, f);
		av_frame_unref(f);
	}
}

static AVCodecContext *open_dec(const AVStream *st)
{
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	AVCodecContext *dec = avcodec_alloc_context3(codec);

	ck_assert_int_ge(avcodec_parameters_to_context(dec, st->codecpar), 0);
	dec->pkt_timebase = st->time_base;
	ck_assert_int_eq(avcodec_open2(dec, codec, NULL), 0);
	return dec;
}

static void note_stream(struct probe *p, const AVStream *st)
{
	const AVCodecParameters *par = st->codecpar;
	double d = (double)st->duration * av_q2d(st->time_base);

	if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
		p->n_video++;
		p->vcodec = par->codec_id;
		p->vduration = d;
	} else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
		p->n_audio++;
		p->acodec = par->codec_id;
		p->sample_rate = par->sample_rate;
		p->aduration = d;
	}
}

/* Opens path with libavformat and decodes every frame of every stream. */
static void probe_file(const char *path, struct probe *p)
{
	AVFormatContext *fmt = NULL;
	AVCodecContext *dec[4] = { 0 };
	AVPacket *pkt = av_packet_alloc();
	AVFrame *f = av_frame_alloc();

	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(avformat_open_input(&fmt, path, NULL, NULL), 0);
	ck_assert_int_ge(avformat_find_stream_info(fmt, NULL), 0);
	ck_assert_uint_le(fmt->nb_streams, 4);
	p->duration = (double)fmt->duration / AV_TIME_BASE;
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		note_stream(p, fmt->streams[i]);
		dec[i] = open_dec(fmt->streams[i]);
	}
	while (av_read_frame(fmt, pkt) >= 0) {
		AVCodecContext *d = dec[pkt->stream_index];

		ck_assert_int_eq(avcodec_send_packet(d, pkt), 0);
		av_packet_unref(pkt);
		drain(p, d, f);
	}
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		ck_assert_int_eq(avcodec_send_packet(dec[i], NULL), 0);
		drain(p, dec[i], f);
		avcodec_free_context(&dec[i]);
	}
	av_frame_free(&f);
	av_packet_free(&pkt);
	avformat_close_input(&fmt);
}

/* RMS of the decoded audio between two times in seconds. */
static double rms(const struct probe *p, double from, double to)
{
	size_t a = (size_t)(from * ASSEMBLE__RATE), b = (size_t)(to * ASSEMBLE__RATE);
	double sum = 0;

	ck_assert_uint_le(b, p->n_pcm);
	for (size_t i = a; i < b; i++)
		sum += (double)p->pcm[i] * p->pcm[i];
	return sqrt(sum / (double)(b - a));
}

/* When the decoded audio first rises above a whisper after `after` seconds. */
static double onset(const struct probe *p, double after)
{
	for (size_t i = (size_t)(after * ASSEMBLE__RATE); i < p->n_pcm; i++)
		if (fabsf(p->pcm[i]) > 0.05f)
			return (double)i / ASSEMBLE__RATE;
	return -1;
}

/* Index of the first top-level box of the given type, or -1. */
static int box_index(const char *path, const char *type)
{
	FILE *f = fopen(path, "rb");
	uint8_t h[16];
	long pos = 0;
	int i = 0, found = -1;

	ck_assert_ptr_nonnull(f);
	while (found < 0 && fseek(f, pos, SEEK_SET) == 0 && fread(h, 1, 8, f) == 8) {
		uint64_t size = (uint64_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];

		if (size == 1) {
			ck_assert_uint_eq(fread(h + 8, 1, 8, f), 8);
			size = 0;
			for (int k = 8; k < 16; k++)
				size = size << 8 | h[k];
		}
		if (memcmp(h + 4, type, 4) == 0)
			found = i;
		if (size < 8)
			break;
		pos += (long)size;
		i++;
	}
	fclose(f);
	return found;
}

static void spec_init(struct assemble_spec *sp, const struct assemble_shot *shots, size_t n,
		      const char *out)
{
	memset(sp, 0, sizeof(*sp));
	sp->shots = shots;
	sp->n_shots = n;
	sp->width = W;
	sp->height = H;
	sp->fps = FPS;
	sp->crf = 18;
	sp->out_path = out;
}

struct progress_log {
	int calls;
	double last;
	int backwards;
	volatile int *cancel_at_fifth; /* when set, raised once a fifth is done */
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
		*pl->cancel_at_fifth = 1;
}

/* Square widths in [from, to) grow (or shrink) evenly from a to b. */
static void check_zoom(const struct probe *p, int from, int to, double a, double b)
{
	ck_assert_msg(fabs(p->square[from] - a) < 3, "frame %d: square %.1f, want %.1f", from,
		      p->square[from], a);
	ck_assert_msg(fabs(p->square[to - 1] - b) < 3, "frame %d: square %.1f, want %.1f", to - 1,
		      p->square[to - 1], b);
	for (int i = from + 1; i < to; i++) {
		double d = (p->square[i] - p->square[i - 1]) * (b > a ? 1 : -1);

		ck_assert_msg(d > -0.4 && d < 1.5, "frame %d: zoom stepped by %.2f px", i, d);
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
		{ png, wav1, 1210 }, { jpg, wav2, 790 }, { png, NULL, 1000 },
	};
	struct progress_log pl = { 0 };
	struct assemble_spec sp;
	struct probe p;

	write_still(png, AV_CODEC_ID_PNG, 480, 270, 100);
	write_still(jpg, AV_CODEC_ID_MJPEG, 300, 300, 100);
	write_wav(wav1, 22050, 1, 1000);
	write_wav(wav2, 44100, 2, 1500);
	spec_init(&sp, shots, 3, out);
	sp.progress = on_progress;
	sp.progress_arg = &pl;
	ck_assert_msg(assemble_mp4(&sp, err, sizeof(err)) == 0, "assemble: %s", err);
	ck_assert_int_gt(pl.calls, 10);
	ck_assert(!pl.backwards);
	ck_assert_double_eq(pl.last, 1.0);

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
	ck_assert_msg(fabs(p.aduration - 3.0) <= 0.04, "audio %.3f", p.aduration);
	ck_assert_msg(fabs((double)p.n_pcm / 48000 - 3.0) <= 0.03, "pcm %zu", p.n_pcm);

	/* Cover fit: the 270-high still fills 640 rows, so no bars; the square
	 * scales by 640/270 at zoom 1 and 8% more at the far end. */
	for (int i = 0; i < 75; i++)
		ck_assert_msg(p.corner[i] > 150, "frame %d: corner luma %d", i, p.corner[i]);
	check_zoom(&p, 0, 30, 100 * 640 / 270.0, 100 * 640 / 270.0 * 1.08);
	check_zoom(&p, 30, 50, 100 * 640 / 300.0 * 1.08, 100 * 640 / 300.0);
	check_zoom(&p, 50, 75, 100 * 640 / 270.0, 100 * 640 / 270.0 * 1.08);

	/* Tone 0..1.0 s, padding to 1.21, tone trimmed at 2.0, silence to 3.0;
	 * the half-scale tone keeps its level (RMS 0.354), mono or stereo. */
	ck_assert_double_gt(rms(&p, 0.05, 0.95), 0.32);
	ck_assert_double_lt(rms(&p, 0.05, 0.95), 0.38);
	ck_assert_double_lt(rms(&p, 1.05, 1.15), 0.01);
	ck_assert_double_gt(rms(&p, 1.25, 1.95), 0.32);
	ck_assert_double_lt(rms(&p, 2.05, 2.95), 0.01);
	ck_assert_msg(fabs(onset(&p, 1.1) - 1.21) < 0.003, "shot 1 sounds at %.4f s",
		      onset(&p, 1.1));

	ck_assert_int_ge(box_index(out, "moov"), 0);
	ck_assert_int_lt(box_index(out, "moov"), box_index(out, "mdat"));
	free(p.pcm);
	free(png);
	free(jpg);
	free(wav1);
	free(wav2);
	free(out);
}
END_TEST

/* Runs one failing assemble and checks err names `needle`. */
static void expect_failure(const struct assemble_shot *shot, const char *needle)
{
	char *out = path_in_dir("fail.mp4"), err[512] = "";
	struct assemble_spec sp;

	spec_init(&sp, shot, 1, out);
	ck_assert_int_eq(assemble_mp4(&sp, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"", err, needle);
	ck_assert_int_ne(access(out, F_OK), 0);
	free(out);
}

START_TEST(test_bad_inputs)
{
	char *png = path_in_dir("ok.png"), *wav = path_in_dir("ok.wav");
	char *missing = path_in_dir("missing.png"), *junk_png = path_in_dir("junk.png");
	char *junk_wav = path_in_dir("junk.wav"), *gone_wav = path_in_dir("gone.wav");
	char junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 % 251);
	write_file(junk_png, junk, sizeof(junk));
	write_file(junk_wav, junk, sizeof(junk));
	write_still(png, AV_CODEC_ID_PNG, 64, 64, 10);
	write_wav(wav, 16000, 1, 200);

	expect_failure(&(struct assemble_shot){ missing, wav, 400 }, missing);
	expect_failure(&(struct assemble_shot){ junk_png, wav, 400 }, junk_png);
	expect_failure(&(struct assemble_shot){ png, junk_wav, 400 }, junk_wav);
	expect_failure(&(struct assemble_shot){ png, gone_wav, 400 }, gone_wav);
	expect_failure(&(struct assemble_shot){ png, wav, 0 }, "duration");
	free(png);
	free(wav);
	free(missing);
	free(junk_png);
	free(junk_wav);
	free(gone_wav);
}
END_TEST

START_TEST(test_bad_settings)
{
	char *png = path_in_dir("ok.png"), *out = path_in_dir("x.mp4"), err[256] = "";
	struct assemble_shot shot = { png, NULL, 400 };
	struct assemble_spec sp;

	write_still(png, AV_CODEC_ID_PNG, 64, 64, 10);
	spec_init(&sp, &shot, 1, out);
	sp.width = 361;
	ck_assert_int_eq(assemble_mp4(&sp, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "361x640"));
	spec_init(&sp, &shot, 1, out);
	sp.preset = "warp-speed";
	ck_assert_int_eq(assemble_mp4(&sp, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "warp-speed"));
	ck_assert_int_ne(access(out, F_OK), 0);
	free(png);
	free(out);
}
END_TEST

START_TEST(test_cancel)
{
	char *png = path_in_dir("c.png"), *out = path_in_dir("c.mp4"), err[256] = "";
	struct assemble_shot shots[] = { { png, NULL, 2000 }, { png, NULL, 2000 } };
	volatile int cancel = 0;
	struct progress_log pl = { .cancel_at_fifth = &cancel };
	struct assemble_spec sp;

	write_still(png, AV_CODEC_ID_PNG, 100, 100, 20);
	spec_init(&sp, shots, 2, out);
	sp.cancel = &cancel;
	sp.progress = on_progress;
	sp.progress_arg = &pl;
	ck_assert_int_eq(assemble_mp4(&sp, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "canceled");
	ck_assert_int_eq(cancel, 1);
	ck_assert_double_lt(pl.max_seen, 0.3);
	ck_assert_int_ne(access(out, F_OK), 0);
	free(png);
	free(out);
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
	struct assemble_shot shot = { j->png, j->wav, 1000 };
	struct assemble_spec sp;

	spec_init(&sp, &shot, 1, j->out);
	sp.width = 180;
	sp.height = 320;
	j->rc = assemble_mp4(&sp, j->err, sizeof(j->err));
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
		ck_assert_double_gt(rms(&p, 0.1, 0.6), 0.32);
		ck_assert_double_lt(rms(&p, 0.75, 0.95), 0.01);
		free(p.pcm);
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
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_three_shots);
	tcase_add_test(tc, test_bad_inputs);
	tcase_add_test(tc, test_bad_settings);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_concurrent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(assemble_suite());
	int failed;

	log_set_level(LOG_ERROR);
	assemble_init();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
