/*
 * assemble_mp4: keyframes and narration into an H.264/AAC fast-start MP4,
 * streamed frame by frame through libx264 (audio lives in assemble_audio.c).
 *
 * DESIGN: everything an encode owns hangs off one struct encode on the
 * caller's stack, so concurrent calls share nothing but FFmpeg's immutable
 * tables. Each still is decoded and scaled once (Lanczos, swscale) to cover
 * the output at the widest zoom; every frame is then cut from it by a
 * bilinear sampler with 1/256-pixel precision, so the zoom glides instead of
 * stepping a whole pixel at a time. Shot boundaries are cumulative and
 * rounded once (frames) or exact (48 samples per millisecond), so no drift.
 */
#include "assemble.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "banned.h"

#define ZOOM_MAX 1.08               /* the stills' zoom runs between 1 and this */
#define MAX_IMAGE_PIXELS "67108864" /* 8192^2: refuse decoding bigger untrusted stills */
#define MAX_COVER_RATIO 8           /* refuse stills far more elongated than the frame */
#define MAX_SHOT_MS (24LL * 3600 * 1000)

/* Scratch for the zoom sampler, sized for one output row. */
struct sampler {
	int *xi;          /* per output column: left source pixel ... */
	uint16_t *xw;     /* ... and the right one's weight out of 256 */
	uint16_t *row[2]; /* two source rows blended horizontally */
	uint16_t *rows;   /* owns row[] */
};

struct encode {
	const struct assemble_spec *spec;
	AVFormatContext *oc;
	AVCodecContext *venc;
	AVStream *vst;
	AVFrame *vframe;
	struct assemble__audio *audio;
	struct sampler smp;
	int64_t frames_total, frames_done;
	double reported; /* last progress fraction passed on */
	int file_open;   /* out_path exists and is ours to remove on failure */
};

static void on_av_log(void *avcl, int level, const char *fmt, va_list vl)
{
	static _Thread_local int print_prefix = 1;
	char line[1024];
	size_t n;

	if (level > AV_LOG_WARNING)
		return;
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0)
		return;
	/* Our caller reports the failure itself; FFmpeg's text is only context. */
	if (level <= AV_LOG_ERROR)
		log_warn("ffmpeg: %s", line);
	else
		log_debug("ffmpeg: %s", line);
}

void assemble_init(void)
{
	av_log_set_callback(on_av_log);
}

static int check_readable(const char *what, const char *path, char *err, size_t errlen)
{
	if (access(path, R_OK) < 0)
		return errorf(err, errlen, "%s %s: %s", what, path, av_err2str(AVERROR(errno)));
	return 0;
}

static int check_spec(const struct assemble_spec *sp, char *err, size_t errlen)
{
	if (!sp->shots || sp->n_shots == 0)
		return errorf(err, errlen, "no shots to assemble");
	if (sp->width < 16 || sp->width > 8192 || sp->width % 2 || sp->height < 16 ||
	    sp->height > 8192 || sp->height % 2)
		return errorf(err, errlen, "bad frame size %dx%d (even, 16..8192)", sp->width,
			      sp->height);
	if (sp->fps < 1 || sp->fps > 120)
		return errorf(err, errlen, "bad fps %d (1..120)", sp->fps);
	if (sp->crf < 0 || sp->crf > 51)
		return errorf(err, errlen, "bad crf %d (1..51, or 0 for 23)", sp->crf);
	if (!sp->out_path || !*sp->out_path)
		return errorf(err, errlen, "no output path");
	for (size_t k = 0; k < sp->n_shots; k++) {
		const struct assemble_shot *s = &sp->shots[k];

		if (s->duration_ms <= 0 || s->duration_ms > MAX_SHOT_MS)
			return errorf(err, errlen, "shot %zu: bad duration %lld ms", k,
				      (long long)s->duration_ms);
		if (!s->image_path || !*s->image_path)
			return errorf(err, errlen, "shot %zu: no image", k);
		if (check_readable("image", s->image_path, err, errlen) < 0)
			return -1;
		if (s->audio_path && *s->audio_path &&
		    check_readable("audio", s->audio_path, err, errlen) < 0)
			return -1;
	}
	return 0;
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

/* The first picture in path, as the decoder produced it. */
static int decode_image(const char *path, AVFrame *frame, char *err, size_t errlen)
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
		errorf(err, errlen, "image %s: cannot open: %s", path, av_err2str(ret));
		goto done;
	}
	ret = index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (ret >= 0)
		ret = open_image_decoder(fmt, index, &dec);
	while (ret >= 0 && (ret = avcodec_receive_frame(dec, frame)) == AVERROR(EAGAIN))
		ret = feed(fmt, dec, pkt, index);
	if (ret == AVERROR_EOF)
		errorf(err, errlen, "image %s: holds no picture", path);
	else if (ret < 0)
		errorf(err, errlen, "image %s: cannot decode: %s", path, av_err2str(ret));
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
static int scale_into(const AVFrame *src, AVFrame *base, const char *path, char *err,
		      size_t errlen)
{
	const int *coef = sws_getCoefficients(SWS_CS_DEFAULT);
	struct SwsContext *sws;
	int full_range, ret;
	enum AVPixelFormat in = plain_format(src, &full_range);

	sws = sws_getContext(src->width, src->height, in, base->width, base->height,
			     AV_PIX_FMT_YUV420P, SWS_LANCZOS | SWS_ACCURATE_RND, NULL, NULL, NULL);
	if (!sws)
		return errorf(err, errlen, "image %s: cannot convert from %s", path,
			      av_get_pix_fmt_name(in) ? av_get_pix_fmt_name(in) : "?");
	sws_setColorspaceDetails(sws, coef, full_range, coef, 0, 0, 1 << 16, 1 << 16);
	base->format = AV_PIX_FMT_YUV420P;
	ret = av_frame_get_buffer(base, 0);
	if (ret >= 0)
		ret = sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0,
				src->height, base->data, base->linesize);
	sws_freeContext(sws);
	if (ret < 0)
		return errorf(err, errlen, "image %s: cannot scale: %s", path, av_err2str(ret));
	return 0;
}

/* Decodes path and scales it to cover the output frame at ZOOM_MAX. */
static int load_still(const char *path, int w, int h, AVFrame *base, char *err, size_t errlen)
{
	AVFrame *src = av_frame_alloc();
	double tw = ceil(w * ZOOM_MAX), th = ceil(h * ZOOM_MAX), s;
	int rc = -1;

	if (!src)
		return errorf(err, errlen, "out of memory");
	if (decode_image(path, src, err, errlen) < 0)
		goto done;
	s = fmax(tw / src->width, th / src->height);
	base->width = even_up(fmax(tw, src->width * s - 0.01));
	base->height = even_up(fmax(th, src->height * s - 0.01));
	if (base->width > MAX_COVER_RATIO * tw || base->height > MAX_COVER_RATIO * th) {
		errorf(err, errlen, "image %s: %dx%d is too elongated for a %dx%d frame", path,
		       src->width, src->height, w, h);
		goto done;
	}
	rc = scale_into(src, base, path, err, errlen);
done:
	av_frame_free(&src);
	return rc;
}

/* Where output pixel x of n falls in a source of size len, as index and weight. */
static void tap(int x, int n, int len, double step, int *idx, int *w)
{
	double pos = len / 2.0 + (x + 0.5 - n / 2.0) * step - 0.5;

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
	for (int x = 0; x < dw; x++) {
		int i = sm->xi[x], w = sm->xw[x];

		out[x] = (uint16_t)(r[i] * (256 - w) + r[i + 1] * w);
	}
}

static void blend_rows(const uint16_t *a, const uint16_t *b, int w, uint8_t *out, int dw)
{
	for (int x = 0; x < dw; x++)
		out[x] = (uint8_t)((a[x] * (256 - w) + b[x] * w + 32768) >> 16);
}

/* Fills dst (dw x dh) from the centre of src, step source pixels per output
 * pixel. Separable, and each blended source row serves about two output rows. */
static void sample_plane(const uint8_t *src, int sls, int sw, int sh, uint8_t *dst, int dls,
			 int dw, int dh, double step, struct sampler *sm)
{
	int have[2] = { -1, -1 }; /* source rows now in sm->row[] */

	for (int x = 0; x < dw; x++) {
		int i, w;

		tap(x, dw, sw, step, &i, &w);
		sm->xi[x] = i;
		sm->xw[x] = (uint16_t)w;
	}
	for (int y = 0; y < dh; y++) {
		int j, w;

		tap(y, dh, sh, step, &j, &w);
		if (have[1] == j) {
			uint16_t *t = sm->row[0];

			sm->row[0] = sm->row[1];
			sm->row[1] = t;
			have[0] = j;
			have[1] = -1;
		}
		if (have[0] != j)
			blend_row(src + (ptrdiff_t)j * sls, sm, dw, sm->row[0]);
		if (have[1] != j + 1)
			blend_row(src + (ptrdiff_t)(j + 1) * sls, sm, dw, sm->row[1]);
		have[0] = j;
		have[1] = j + 1;
		blend_rows(sm->row[0], sm->row[1], w, dst + (ptrdiff_t)y * dls, dw);
	}
}

static void render(struct encode *e, const AVFrame *base, double zoom)
{
	AVFrame *f = e->vframe;
	double step = ZOOM_MAX / zoom;

	for (int p = 0; p < 3; p++) {
		int sh = p ? 1 : 0;

		sample_plane(base->data[p], base->linesize[p], AV_CEIL_RSHIFT(base->width, sh),
			     AV_CEIL_RSHIFT(base->height, sh), f->data[p], f->linesize[p],
			     AV_CEIL_RSHIFT(f->width, sh), AV_CEIL_RSHIFT(f->height, sh), step,
			     &e->smp);
	}
}

int assemble__encode(struct AVFormatContext *oc, struct AVCodecContext *enc, struct AVStream *st,
		     const struct AVFrame *frame, char *err, size_t errlen)
{
	AVPacket *pkt;
	int ret = avcodec_send_frame(enc, frame);

	if (ret < 0)
		return errorf(err, errlen, "%s encoder failed: %s", enc->codec->name,
			      av_err2str(ret));
	pkt = av_packet_alloc();
	if (!pkt)
		return errorf(err, errlen, "out of memory");
	while ((ret = avcodec_receive_packet(enc, pkt)) == 0) {
		/* Else the MP4's last video frame would get no time at all. */
		if (pkt->duration <= 0 && enc->codec_type == AVMEDIA_TYPE_VIDEO)
			pkt->duration = 1;
		av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
		pkt->stream_index = st->index;
		ret = av_interleaved_write_frame(oc, pkt);
		if (ret < 0)
			break;
	}
	av_packet_free(&pkt);
	if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
		return 0;
	return errorf(err, errlen, "writing %s output failed: %s", enc->codec->name,
		      av_err2str(ret));
}

static int open_video(struct encode *e, char *err, size_t errlen)
{
	const struct assemble_spec *sp = e->spec;
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	const char *preset = sp->preset ? sp->preset : "veryfast";
	AVDictionary *opts = NULL;
	AVCodecContext *enc;
	int ret;

	if (!codec)
		return errorf(err, errlen, "FFmpeg lacks the libx264 encoder");
	e->vst = avformat_new_stream(e->oc, NULL);
	enc = e->venc = avcodec_alloc_context3(codec);
	if (!e->vst || !enc)
		return errorf(err, errlen, "out of memory");
	enc->width = sp->width;
	enc->height = sp->height;
	enc->pix_fmt = AV_PIX_FMT_YUV420P;
	enc->sample_aspect_ratio = (AVRational){ 1, 1 };
	enc->time_base = (AVRational){ 1, sp->fps };
	enc->framerate = (AVRational){ sp->fps, 1 };
	/* swscale's default matrix, so players need not guess. */
	enc->color_range = AVCOL_RANGE_MPEG;
	enc->colorspace = AVCOL_SPC_SMPTE170M;
	if (e->oc->oformat->flags & AVFMT_GLOBALHEADER)
		enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	av_dict_set(&opts, "preset", preset, 0);
	av_dict_set_int(&opts, "crf", sp->crf ? sp->crf : 23, 0);
	ret = avcodec_open2(enc, codec, &opts);
	av_dict_free(&opts);
	if (ret < 0)
		return errorf(err, errlen, "libx264 refused preset \"%s\", crf %d: %s", preset,
			      sp->crf ? sp->crf : 23, av_err2str(ret));
	ret = avcodec_parameters_from_context(e->vst->codecpar, enc);
	if (ret < 0)
		return errorf(err, errlen, "out of memory");
	e->vst->time_base = enc->time_base;
	e->vst->avg_frame_rate = enc->framerate;
	return 0;
}

static int alloc_video_state(struct encode *e, char *err, size_t errlen)
{
	AVFrame *f = e->vframe = av_frame_alloc();

	if (!f)
		return errorf(err, errlen, "out of memory");
	f->format = AV_PIX_FMT_YUV420P;
	f->width = e->spec->width;
	f->height = e->spec->height;
	if (av_frame_get_buffer(f, 0) < 0)
		return errorf(err, errlen, "out of memory");
	e->smp.xi = xcalloc((size_t)f->width, sizeof(*e->smp.xi));
	e->smp.xw = xcalloc((size_t)f->width, sizeof(*e->smp.xw));
	e->smp.rows = xcalloc(2 * (size_t)f->width, sizeof(*e->smp.rows));
	e->smp.row[0] = e->smp.rows;
	e->smp.row[1] = e->smp.rows + f->width;
	return 0;
}

static int open_output(struct encode *e, char *err, size_t errlen)
{
	const char *path = e->spec->out_path;
	AVDictionary *opts = NULL;
	int ret;

	ret = avformat_alloc_output_context2(&e->oc, NULL, "mp4", path);
	if (ret < 0)
		return errorf(err, errlen, "cannot set up MP4 output: %s", av_err2str(ret));
	if (open_video(e, err, errlen) < 0 || alloc_video_state(e, err, errlen) < 0)
		return -1;
	e->audio = assemble__audio_new(e->oc, err, errlen);
	if (!e->audio)
		return -1;
	ret = avio_open(&e->oc->pb, path, AVIO_FLAG_WRITE);
	if (ret < 0)
		return errorf(err, errlen, "cannot create %s: %s", path, av_err2str(ret));
	e->file_open = 1;
	/* moov up front: players start before the whole file has arrived. */
	av_dict_set(&opts, "movflags", "+faststart", 0);
	ret = avformat_write_header(e->oc, &opts);
	av_dict_free(&opts);
	if (ret < 0)
		return errorf(err, errlen, "cannot write %s: %s", path, av_err2str(ret));
	return 0;
}

static int64_t frame_at(const struct encode *e, int64_t ms)
{
	return (ms * e->spec->fps + 500) / 1000;
}

static void report(struct encode *e)
{
	double f = (double)e->frames_done / (double)e->frames_total;

	if (!e->spec->progress || (f - e->reported < 0.01 && e->frames_done < e->frames_total))
		return;
	e->reported = f;
	e->spec->progress(e->spec->progress_arg, f);
}

/* Zoom of frame j of n in shot k: alternately in and out, geometric so it feels even. */
static double zoom_at(size_t k, int64_t j, int64_t n)
{
	double t = n > 1 ? (double)j / (double)(n - 1) : 0;

	return pow(ZOOM_MAX, k % 2 ? 1 - t : t);
}

/* Writes shot k, which spans [start_ms, end_ms) of the output. */
static int encode_shot(struct encode *e, size_t k, int64_t start_ms, int64_t end_ms, char *err,
		       size_t errlen)
{
	const struct assemble_shot *shot = &e->spec->shots[k];
	int64_t f0 = frame_at(e, start_ms), f1 = frame_at(e, end_ms);
	int64_t end_sample = end_ms * (ASSEMBLE__RATE / 1000);
	AVFrame *base = av_frame_alloc();
	int rc = -1;

	if (!base)
		return errorf(err, errlen, "out of memory");
	if (load_still(shot->image_path, e->spec->width, e->spec->height, base, err, errlen) < 0 ||
	    assemble__audio_begin_shot(e->audio, shot->audio_path, err, errlen) < 0)
		goto done;
	for (int64_t i = f0; i < f1; i++) {
		int64_t until = (i + 1) * ASSEMBLE__RATE / e->spec->fps;

		if (e->spec->cancel && *e->spec->cancel) {
			errorf(err, errlen, "canceled");
			goto done;
		}
		if (av_frame_make_writable(e->vframe) < 0) {
			errorf(err, errlen, "out of memory");
			goto done;
		}
		render(e, base, zoom_at(k, i - f0, f1 - f0));
		e->vframe->pts = i;
		if (assemble__encode(e->oc, e->venc, e->vst, e->vframe, err, errlen) < 0 ||
		    assemble__audio_fill(e->audio, until < end_sample ? until : end_sample, err,
					 errlen) < 0)
			goto done;
		e->frames_done++;
		report(e);
	}
	rc = assemble__audio_fill(e->audio, end_sample, err, errlen);
done:
	av_frame_free(&base);
	return rc;
}

static int finish(struct encode *e, char *err, size_t errlen)
{
	int ret;

	if (assemble__encode(e->oc, e->venc, e->vst, NULL, err, errlen) < 0 ||
	    assemble__audio_finish(e->audio, err, errlen) < 0)
		return -1;
	ret = av_write_trailer(e->oc);
	if (ret < 0)
		return errorf(err, errlen, "cannot finish %s: %s", e->spec->out_path,
			      av_err2str(ret));
	e->frames_done = e->frames_total;
	report(e);
	return 0;
}

static void release(struct encode *e, int failed)
{
	if (e->oc && e->file_open)
		avio_closep(&e->oc->pb);
	if (failed && e->file_open)
		unlink(e->spec->out_path);
	avformat_free_context(e->oc);
	avcodec_free_context(&e->venc);
	av_frame_free(&e->vframe);
	assemble__audio_free(e->audio);
	free(e->smp.xi);
	free(e->smp.xw);
	free(e->smp.rows);
}

int assemble_mp4(const struct assemble_spec *spec, char *err, size_t errlen)
{
	struct encode e = { .spec = spec };
	int64_t start_ms = 0, total_ms = 0;
	int rc;

	if (check_spec(spec, err, errlen) < 0)
		return -1;
	for (size_t k = 0; k < spec->n_shots; k++)
		total_ms += spec->shots[k].duration_ms;
	e.frames_total = frame_at(&e, total_ms);
	if (e.frames_total < 1)
		return errorf(err, errlen, "shots last %lld ms, less than one frame",
			      (long long)total_ms);
	rc = open_output(&e, err, errlen);
	for (size_t k = 0; rc == 0 && k < spec->n_shots; k++) {
		int64_t end_ms = start_ms + spec->shots[k].duration_ms;

		rc = encode_shot(&e, k, start_ms, end_ms, err, errlen);
		start_ms = end_ms;
	}
	if (rc == 0)
		rc = finish(&e, err, errlen);
	release(&e, rc < 0);
	return rc;
}
