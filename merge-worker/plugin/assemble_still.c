/*
 * Stills with a camera move: the keyframe is decoded and scaled once
 * (Lanczos, swscale) to cover the output with CAM_MARGIN to spare, and every
 * frame is cut from it by a bilinear sampler with 1/256-pixel precision, so
 * zooms and pans glide instead of stepping a whole pixel at a time.
 */
#include "assemble_still.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include <math.h>
#include <string.h>

#include "errbuf.h"
#include "banned.h"

#define CAM_MARGIN 1.15             /* the base covers the frame this much over: room to zoom and pan */
#define MAX_IMAGE_PIXELS "67108864" /* 8192^2: refuse decoding bigger untrusted stills */
#define MAX_COVER_RATIO 8           /* refuse stills far more elongated than the frame */

enum move { ZOOM_IN, ZOOM_OUT, PAN_LEFT, PAN_RIGHT, PAN_UP, PAN_DOWN, STILL };

static const char *const move_names[] = {
	"zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down", "static"
};

/* Scratch for the sampler, sized for one output row. */
struct sampler {
	int *xi;          /* per output column: left source pixel ... */
	uint16_t *xw;     /* ... and the right one's weight out of 256 */
	uint16_t *row[2]; /* two source rows blended horizontally */
	uint16_t *rows;   /* owns row[] */
	int shift;        /* >= 0: every column's tap is shift + x with one weight */
};

struct assemble__still {
	AVFrame *base; /* yuv420p, at least CAM_MARGIN times the output each way */
	enum move move;
	struct sampler smp;
};

const char *assemble__camera(const struct assemble_shot *s, size_t k)
{
	/* Varied shot to shot when the storyboard gives no hint. */
	static const enum move cycle[] = { ZOOM_IN, PAN_RIGHT, ZOOM_OUT, PAN_LEFT };

	for (size_t i = 0; s->camera && i < ARRAY_SIZE(move_names); i++)
		if (strcmp(s->camera, move_names[i]) == 0)
			return move_names[i];
	return move_names[cycle[k % ARRAY_SIZE(cycle)]];
}

static enum move move_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(move_names); i++)
		if (strcmp(name, move_names[i]) == 0)
			return (enum move)i;
	return STILL;
}

/* Feeds dec one packet of stream `index`, or end-of-stream once the file ends. */
static int feed(AVFormatContext *fmt, AVCodecContext *dec, AVPacket *pkt, int index)
{
	int ret = av_read_frame(fmt, pkt);

	if (ret == AVERROR_EOF)
		return avcodec_send_packet(dec, NULL);
	if (ret < 0)
		return ret;
	if (pkt->stream_index == index)
		ret = avcodec_send_packet(dec, pkt);
	av_packet_unref(pkt);
	return ret;
}

static int open_image_decoder(AVFormatContext *fmt, int index, AVCodecContext **out)
{
	const AVCodecParameters *par = fmt->streams[index]->codecpar;
	const AVCodec *codec = avcodec_find_decoder(par->codec_id);
	AVDictionary *opts = NULL;
	int ret;

	if (!codec)
		return AVERROR_DECODER_NOT_FOUND;
	*out = avcodec_alloc_context3(codec);
	if (!*out)
		return AVERROR(ENOMEM);
	ret = avcodec_parameters_to_context(*out, par);
	av_dict_set(&opts, "max_pixels", MAX_IMAGE_PIXELS, 0);
	if (ret >= 0)
		ret = avcodec_open2(*out, codec, &opts);
	av_dict_free(&opts);
	return ret;
}

int assemble__decode_image(const char *path, AVFrame *frame, char *err, size_t errlen)
{
	AVFormatContext *fmt = NULL;
	AVCodecContext *dec = NULL;
	AVPacket *pkt = av_packet_alloc();
	AVDictionary *opts = NULL;
	int ret, index = -1;

	/* Else the image2 demuxer would read "%d" in a path as a sequence. */
	av_dict_set(&opts, "pattern_type", "none", 0);
	ret = avformat_open_input(&fmt, path, NULL, &opts);
	av_dict_free(&opts);
	if (ret < 0) {
		errbuf_set(err, errlen, "image %s: cannot open: %s", path, av_err2str(ret));
		goto done;
	}
	ret = index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (ret >= 0)
		ret = open_image_decoder(fmt, index, &dec);
	while (ret >= 0 && (ret = avcodec_receive_frame(dec, frame)) == AVERROR(EAGAIN))
		ret = feed(fmt, dec, pkt, index);
	if (ret == AVERROR_EOF)
		errbuf_set(err, errlen, "image %s: holds no picture", path);
	else if (ret < 0)
		errbuf_set(err, errlen, "image %s: cannot decode (corrupt, or over 8192x8192 pixels): %s", path,
			   av_err2str(ret));
done:
	av_packet_free(&pkt);
	avcodec_free_context(&dec);
	avformat_close_input(&fmt);
	return ret < 0 ? -1 : 0;
}

static int even_up(double v)
{
	int i = (int)ceil(v);

	return i + (i & 1);
}

/* Maps the deprecated full-range "J" formats to their plain twins plus a range flag. */
static enum AVPixelFormat plain_format(const AVFrame *f, int *full_range)
{
	*full_range = f->color_range == AVCOL_RANGE_JPEG;
	switch (f->format) {
	case AV_PIX_FMT_YUVJ420P: *full_range = 1; return AV_PIX_FMT_YUV420P;
	case AV_PIX_FMT_YUVJ422P: *full_range = 1; return AV_PIX_FMT_YUV422P;
	case AV_PIX_FMT_YUVJ444P: *full_range = 1; return AV_PIX_FMT_YUV444P;
	case AV_PIX_FMT_YUVJ440P: *full_range = 1; return AV_PIX_FMT_YUV440P;
	case AV_PIX_FMT_YUVJ411P: *full_range = 1; return AV_PIX_FMT_YUV411P;
	default: return (enum AVPixelFormat)f->format;
	}
}

/* Scales src into base, which has its size set and receives yuv420p. */
static int scale_into(const AVFrame *src, AVFrame *base, const char *path, char *err, size_t errlen)
{
	const int *coef = sws_getCoefficients(SWS_CS_DEFAULT);
	struct SwsContext *sws;
	int full_range, ret;
	enum AVPixelFormat in = plain_format(src, &full_range);

	sws = sws_getContext(src->width, src->height, in, base->width, base->height, AV_PIX_FMT_YUV420P,
			     SWS_LANCZOS | SWS_ACCURATE_RND, NULL, NULL, NULL);
	if (!sws)
		return errbuf_set(err, errlen, "image %s: cannot convert from %s", path,
				  av_get_pix_fmt_name(in) ? av_get_pix_fmt_name(in) : "?");
	sws_setColorspaceDetails(sws, coef, full_range, coef, 0, 0, 1 << 16, 1 << 16);
	base->format = AV_PIX_FMT_YUV420P;
	ret = av_frame_get_buffer(base, 0);
	if (ret >= 0)
		ret = sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, base->data,
				base->linesize);
	sws_freeContext(sws);
	if (ret < 0)
		return errbuf_set(err, errlen, "image %s: cannot scale: %s", path, av_err2str(ret));
	return 0;
}

/* Decodes path and scales it to cover the output frame with the margin. */
static int load_base(const char *path, int w, int h, AVFrame *base, char *err, size_t errlen)
{
	AVFrame *src = av_frame_alloc();
	double tw = ceil(w * CAM_MARGIN), th = ceil(h * CAM_MARGIN), s;
	int rc = -1;

	if (!src)
		return errbuf_set(err, errlen, "out of memory");
	if (assemble__decode_image(path, src, err, errlen) < 0)
		goto done;
	s = fmax(tw / src->width, th / src->height);
	base->width = even_up(fmax(tw, src->width * s - 0.01));
	base->height = even_up(fmax(th, src->height * s - 0.01));
	if (base->width > MAX_COVER_RATIO * tw || base->height > MAX_COVER_RATIO * th) {
		errbuf_set(err, errlen, "image %s: %dx%d is too elongated for a %dx%d frame", path, src->width,
			   src->height, w, h);
		goto done;
	}
	rc = scale_into(src, base, path, err, errlen);
done:
	av_frame_free(&src);
	return rc;
}

struct assemble__still *assemble__still_new(const char *path, int width, int height, const char *camera, char *err,
					    size_t errlen)
{
	struct assemble__still *s = xcalloc(1, sizeof(*s));

	s->move = move_of(camera);
	s->base = av_frame_alloc();
	if (!s->base || load_base(path, width, height, s->base, err, errlen) < 0) {
		assemble__still_free(s);
		return NULL;
	}
	s->smp.xi = xcalloc((size_t)width, sizeof(*s->smp.xi));
	s->smp.xw = xcalloc((size_t)width, sizeof(*s->smp.xw));
	s->smp.rows = xcalloc(2 * (size_t)width, sizeof(*s->smp.rows));
	s->smp.row[0] = s->smp.rows;
	s->smp.row[1] = s->smp.rows + width;
	return s;
}

void assemble__still_free(struct assemble__still *s)
{
	if (!s)
		return;
	av_frame_free(&s->base);
	free(s->smp.xi);
	free(s->smp.xw);
	free(s->smp.rows);
	free(s);
}

/* Where output pixel x of n falls in a source of size len centred at c, as index and weight. */
static void tap(int x, int n, int len, double c, double step, int *idx, int *w)
{
	double pos = c + (x + 0.5 - n / 2.0) * step - 0.5;

	pos = fmin(fmax(pos, 0), len - 1);
	*idx = (int)pos;
	*w = (int)lrint((pos - *idx) * 256);
	if (*idx > len - 2) {
		*idx = len - 2;
		*w = 256;
	}
}

/* Source row r blended between neighbouring columns per the taps, in 8.8 fixed point. */
static void blend_row(const uint8_t *r, const struct sampler *sm, int dw, uint16_t *out)
{
	if (sm->shift >= 0) { /* a pan: one weight for the whole row, which vectorises */
		const uint8_t *s = r + sm->shift;
		int w = sm->xw[0];

		for (int x = 0; x < dw; x++)
			out[x] = (uint16_t)(s[x] * (256 - w) + s[x + 1] * w);
		return;
	}
	for (int x = 0; x < dw; x++) {
		int i = sm->xi[x], w = sm->xw[x];

		out[x] = (uint16_t)(r[i] * (256 - w) + r[i + 1] * w);
	}
}

/* Whether the taps are one offset and one weight for every column (moves at scale 1). */
static int uniform_shift(const struct sampler *sm, int dw)
{
	for (int x = 1; x < dw; x++)
		if (sm->xi[x] != sm->xi[0] + x || sm->xw[x] != sm->xw[0])
			return -1;
	return sm->xi[0];
}

static void blend_rows(const uint16_t *a, const uint16_t *b, int w, uint8_t *out, int dw)
{
	for (int x = 0; x < dw; x++)
		out[x] = (uint8_t)((a[x] * (256 - w) + b[x] * w + 32768) >> 16);
}

/* The view of one plane: its size, centre in source pixels and scale. */
struct view {
	int sw, sh, dw, dh;
	double cx, cy, step;
};

/* Fills dst from src per the view. Separable, and each blended source row
 * serves about two output rows. */
static void sample_plane(const uint8_t *src, int sls, uint8_t *dst, int dls, const struct view *v, struct sampler *sm)
{
	int have[2] = { -1, -1 }; /* source rows now in sm->row[] */

	for (int x = 0; x < v->dw; x++) {
		int i, w;

		tap(x, v->dw, v->sw, v->cx, v->step, &i, &w);
		sm->xi[x] = i;
		sm->xw[x] = (uint16_t)w;
	}
	sm->shift = uniform_shift(sm, v->dw);
	for (int y = 0; y < v->dh; y++) {
		int j, w;

		tap(y, v->dh, v->sh, v->cy, v->step, &j, &w);
		if (have[1] == j) {
			uint16_t *t = sm->row[0];

			sm->row[0] = sm->row[1];
			sm->row[1] = t;
			have[0] = j;
			have[1] = -1;
		}
		if (have[0] != j)
			blend_row(src + (ptrdiff_t)j * sls, sm, v->dw, sm->row[0]);
		if (have[1] != j + 1)
			blend_row(src + (ptrdiff_t)(j + 1) * sls, sm, v->dw, sm->row[1]);
		have[0] = j;
		have[1] = j + 1;
		blend_rows(sm->row[0], sm->row[1], w, dst + (ptrdiff_t)y * dls, v->dw);
	}
}

/* The camera at eased position e: zoom (1 = the whole base) and centre offset in
 * units of the room there is to pan (-1..1). */
static void camera_at(enum move m, double e, double *zoom, double *px, double *py)
{
	*zoom = CAM_MARGIN;
	*px = *py = 0;
	switch (m) {
	case ZOOM_IN: *zoom = pow(CAM_MARGIN, e); break;
	case ZOOM_OUT: *zoom = pow(CAM_MARGIN, 1 - e); break;
	case PAN_LEFT: *px = 1 - 2 * e; break;
	case PAN_RIGHT: *px = 2 * e - 1; break;
	case PAN_UP: *py = 1 - 2 * e; break;
	case PAN_DOWN: *py = 2 * e - 1; break;
	case STILL: break;
	}
}

void assemble__still_render(struct assemble__still *s, double u, AVFrame *out)
{
	const AVFrame *b = s->base;
	double t = fmin(fmax(u, 0), 1), e = t * t * (3 - 2 * t); /* eases in and out: no jolt at the ends */
	double zoom, px, py, step;

	camera_at(s->move, e, &zoom, &px, &py);
	step = CAM_MARGIN / zoom;
	for (int p = 0; p < 3; p++) {
		int sh = p ? 1 : 0;
		struct view v = { AV_CEIL_RSHIFT(b->width, sh),
				  AV_CEIL_RSHIFT(b->height, sh),
				  AV_CEIL_RSHIFT(out->width, sh),
				  AV_CEIL_RSHIFT(out->height, sh),
				  0,
				  0,
				  step };

		v.cx = v.sw / 2.0 + px * (v.sw - v.dw * step) / 2;
		v.cy = v.sh / 2.0 + py * (v.sh - v.dh * step) / 2;
		sample_plane(b->data[p], b->linesize[p], out->data[p], out->linesize[p], &v, &s->smp);
	}
}
