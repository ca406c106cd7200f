/*
 * Shared by the assembler's unit tests: media written here (stills, WAV
 * tones, clips through the ffmpeg program) and a probe that decodes an MP4
 * back and measures it frame by frame. Included by each test file.
 */
#ifndef REEL_ASSEMBLE_FIXTURE_H
#define REEL_ASSEMBLE_FIXTURE_H

#include <check.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "assemble.h"
#include "assemble_pcm.h"
#include "log.h"
#include "str.h"
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
	double square[MAX_FRAMES];                  /* width of the dark square across the middle row */
	int corner[MAX_FRAMES];                     /* luma of the top-left pixel */
	double top[MAX_FRAMES], bottom[MAX_FRAMES]; /* mean luma of the top and bottom quarters */
	double cb[MAX_FRAMES], cr[MAX_FRAMES];      /* mean chroma of the whole frame */
	int grab;                                   /* frame to keep a copy of, -1 for none */
	uint8_t *grabbed;                           /* its luma, width x height */
	float *pcm;                                 /* left channel, decoded */
	size_t n_pcm;
};

static inline void setup(void)
{
	str_copy(dir, "/tmp/test_assemble.XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static inline void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static inline char *path_in_dir(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static inline void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

static inline void fill_still(AVFrame *f, int sq)
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
static inline void write_still(const char *path, enum AVCodecID id, int w, int h, int sq)
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

static inline void put_le(uint8_t *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A 16-bit PCM WAV: a 440 Hz tone at half scale lasting ms. */
static inline void write_wav(const char *path, int rate, int channels, int ms)
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
static inline double square_width(const AVFrame *f)
{
	const double gray = 16 + 219.0 * GRAY / 255, dark = 16 + 219.0 * DARK / 255;
	const uint8_t *row = f->data[0] + f->linesize[0] * (f->height / 2);
	double sum = 0;

	for (int x = 0; x < f->width; x++)
		sum += fmin(fmax((gray - row[x]) / (gray - dark), 0), 1);
	return sum;
}

static inline double mean(const uint8_t *d, int ls, int x0, int y0, int w, int h)
{
	double sum = 0;

	for (int y = y0; y < y0 + h; y++)
		for (int x = x0; x < x0 + w; x++)
			sum += d[y * ls + x];
	return sum / ((double)w * h);
}

static inline void take_video(struct probe *p, const AVFrame *f)
{
	int i = p->frames, q = f->height / 4;

	p->width = f->width;
	p->height = f->height;
	p->pix_fmt = f->format;
	if (i < MAX_FRAMES) {
		p->square[i] = square_width(f);
		p->corner[i] = f->data[0][0];
		p->top[i] = mean(f->data[0], f->linesize[0], 0, 0, f->width, q);
		p->bottom[i] = mean(f->data[0], f->linesize[0], 0, f->height - q, f->width, q);
		p->cb[i] = mean(f->data[1], f->linesize[1], 0, 0, f->width / 2, f->height / 2);
		p->cr[i] = mean(f->data[2], f->linesize[2], 0, 0, f->width / 2, f->height / 2);
	}
	if (i == p->grab) {
		p->grabbed = xmalloc((size_t)f->width * (size_t)f->height);
		for (int y = 0; y < f->height; y++)
			memcpy(p->grabbed + (size_t)y * (size_t)f->width, f->data[0] + y * f->linesize[0],
			       (size_t)f->width);
	}
	p->frames++;
}

static inline void take_audio(struct probe *p, const AVFrame *f)
{
	ck_assert_int_eq(f->format, AV_SAMPLE_FMT_FLTP);
	p->pcm = xrealloc(p->pcm, (p->n_pcm + (size_t)f->nb_samples) * sizeof(float));
	memcpy(p->pcm + p->n_pcm, f->data[0], (size_t)f->nb_samples * sizeof(float));
	p->n_pcm += (size_t)f->nb_samples;
}

static inline void drain(struct probe *p, AVCodecContext *dec, AVFrame *f)
{
	while (avcodec_receive_frame(dec, f) == 0) {
		if (dec->codec_type == AVMEDIA_TYPE_VIDEO)
			take_video(p, f);
		else
			take_audio(p, f);
		av_frame_unref(f);
	}
}

static inline AVCodecContext *open_dec(const AVStream *st)
{
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	AVCodecContext *dec = avcodec_alloc_context3(codec);

	ck_assert_int_ge(avcodec_parameters_to_context(dec, st->codecpar), 0);
	dec->pkt_timebase = st->time_base;
	ck_assert_int_eq(avcodec_open2(dec, codec, NULL), 0);
	return dec;
}

static inline void note_stream(struct probe *p, const AVStream *st)
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
static inline void probe_frame(const char *path, struct probe *p, int grab)
{
	AVFormatContext *fmt = NULL;
	AVCodecContext *dec[4] = { 0 };
	AVPacket *pkt = av_packet_alloc();
	AVFrame *f = av_frame_alloc();

	memset(p, 0, sizeof(*p));
	p->grab = grab;
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

static inline void probe_file(const char *path, struct probe *p)
{
	probe_frame(path, p, -1);
}

static inline void probe_free(struct probe *p)
{
	free(p->pcm);
	free(p->grabbed);
}

/* RMS of the decoded audio between two times in seconds. */
static inline double rms(const struct probe *p, double from, double to)
{
	size_t a = (size_t)(from * ASSEMBLE__RATE), b = (size_t)(to * ASSEMBLE__RATE);
	double sum = 0;

	ck_assert_uint_le(b, p->n_pcm);
	for (size_t i = a; i < b; i++)
		sum += (double)p->pcm[i] * p->pcm[i];
	return sqrt(sum / (double)(b - a));
}

/* When the decoded audio first rises above a whisper after `after` seconds. */
static inline double onset(const struct probe *p, double after)
{
	for (size_t i = (size_t)(after * ASSEMBLE__RATE); i < p->n_pcm; i++)
		if (fabsf(p->pcm[i]) > 0.05f)
			return (double)i / ASSEMBLE__RATE;
	return -1;
}

/* Index of the first top-level box of the given type, or -1. */
static inline int box_index(const char *path, const char *type)
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

static inline void spec_init(struct assemble_spec *sp, const struct assemble_shot *shots, size_t n, const char *out)
{
	memset(sp, 0, sizeof(*sp));
	sp->shots = shots;
	sp->n_shots = n;
	sp->width = W;
	sp->height = H;
	sp->fps = FPS;
	sp->crf = 18;
	sp->preset = "ultrafast";
	sp->out_path = out;
}

/* Runs a shell command built from fmt; fails the test when it fails. */
static inline void run_cmd(const char *fmt, ...) PRINTF_LIKE(1, 2);
static inline void run_cmd(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

/* Runs the suite with FFmpeg's messages routed into our log; the exit status for main(). */
static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	log_set_level(LOG_ERROR);
	assemble_init();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
