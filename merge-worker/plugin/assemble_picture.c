/*
 * A shot's pictures, frame by frame at the output size: a still with its
 * camera move, or an image-to-video clip resampled onto the output's frame
 * grid (the frame showing at each tick; the last one held, the rest
 * trimmed) and scaled to cover; then the shot's subtitles burned in by
 * libavfilter's ass filter (libass).
 */
#include "assemble_picture.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include <math.h>
#include <string.h>

#include "assemble_still.h"
#include "errbuf.h"
#include "banned.h"

#define MAX_CLIP_PIXELS "16777216" /* 4096^2 */

struct clip {
	const char *path;
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *next; /* decoded, not shown yet */
	int have_next, eof, shown;
	int stream;
	int64_t first_ts; /* timestamp of the first frame: time 0 */
	int64_t count;    /* frames decoded, for inputs without timestamps */
	struct SwsContext *sws;
	AVFrame *scaled; /* the frame showing, covering the output */
};

struct assemble__picture {
	const struct assemble_spec *sp;
	int64_t n; /* frames in the shot */
	struct assemble__still *still;
	struct clip *clip;
	AVFrame *raw;         /* the frame before subtitles */
	AVFilterGraph *graph; /* ass filter, or NULL */
	AVFilterContext *src, *sink;
	AVFrame *out; /* what frame() returned last */
	int64_t last; /* its index, -1 before the first */
};

static int clip_open(struct clip *c, char *err, size_t errlen)
{
	const AVCodec *codec;
	AVDictionary *opts = NULL;
	int ret = avformat_open_input(&c->fmt, c->path, NULL, NULL);

	if (ret < 0)
		return errbuf_set(err, errlen, "clip %s: cannot open: %s", c->path, av_err2str(ret));
	if ((ret = avformat_find_stream_info(c->fmt, NULL)) < 0)
		return errbuf_set(err, errlen, "clip %s: cannot read: %s", c->path, av_err2str(ret));
	c->stream = av_find_best_stream(c->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (c->stream < 0)
		return errbuf_set(err, errlen, "clip %s: no video stream", c->path);
	codec = avcodec_find_decoder(c->fmt->streams[c->stream]->codecpar->codec_id);
	if (!codec)
		return errbuf_set(err, errlen, "clip %s: no decoder for its video", c->path);
	c->dec = avcodec_alloc_context3(codec);
	c->pkt = av_packet_alloc();
	c->next = av_frame_alloc();
	c->scaled = av_frame_alloc();
	if (!c->dec || !c->pkt || !c->next || !c->scaled)
		return errbuf_set(err, errlen, "out of memory");
	ret = avcodec_parameters_to_context(c->dec, c->fmt->streams[c->stream]->codecpar);
	c->dec->pkt_timebase = c->fmt->streams[c->stream]->time_base;
	av_dict_set(&opts, "max_pixels", MAX_CLIP_PIXELS, 0);
	if (ret >= 0)
		ret = avcodec_open2(c->dec, codec, &opts);
	av_dict_free(&opts);
	if (ret < 0)
		return errbuf_set(err, errlen, "clip %s: cannot open its decoder: %s", c->path, av_err2str(ret));
	return 0;
}

/* Decodes the next frame into c->next; sets c->eof at the end. */
static int clip_decode(struct clip *c, char *err, size_t errlen)
{
	for (;;) {
		int ret = avcodec_receive_frame(c->dec, c->next);

		if (ret == 0) {
			c->have_next = 1;
			c->count++;
			return 0;
		}
		if (ret == AVERROR_EOF) {
			c->eof = 1;
			return 0;
		}
		if (ret != AVERROR(EAGAIN))
			return errbuf_set(err, errlen, "clip %s: cannot decode: %s", c->path, av_err2str(ret));
		ret = av_read_frame(c->fmt, c->pkt);
		if (ret == AVERROR_EOF)
			ret = avcodec_send_packet(c->dec, NULL);
		else if (ret >= 0 && c->pkt->stream_index == c->stream)
			ret = avcodec_send_packet(c->dec, c->pkt);
		av_packet_unref(c->pkt);
		if (ret < 0 && ret != AVERROR_EOF)
			return errbuf_set(err, errlen, "clip %s: cannot decode: %s", c->path, av_err2str(ret));
	}
}

/* Seconds from the clip's first frame to frame f. */
static double clip_time(struct clip *c, const AVFrame *f)
{
	const AVStream *st = c->fmt->streams[c->stream];
	AVRational rate = av_guess_frame_rate(c->fmt, (AVStream *)st, NULL);

	if (f->best_effort_timestamp == AV_NOPTS_VALUE)
		return rate.num > 0 ? (double)(c->count - 1) * av_q2d(av_inv_q(rate)) : (double)(c->count - 1) / 25;
	if (c->first_ts == AV_NOPTS_VALUE)
		c->first_ts = f->best_effort_timestamp;
	return (double)(f->best_effort_timestamp - c->first_ts) * av_q2d(st->time_base);
}

/* Scales the clip frame f to cover w x h (any size or format in, yuv420p out). */
static int clip_scale(struct clip *c, const AVFrame *f, int w, int h, char *err, size_t errlen)
{
	double s = fmax((double)w / f->width, (double)h / f->height);
	int cw = ((int)ceil(f->width * s - 0.01) + 1) & ~1, ch = ((int)ceil(f->height * s - 0.01) + 1) & ~1;

	if (cw < w || ch < h || cw > 8 * w || ch > 8 * h)
		return errbuf_set(err, errlen, "clip %s: %dx%d cannot cover a %dx%d frame", c->path, f->width,
				  f->height, w, h);
	if (c->scaled->width != cw || c->scaled->height != ch) {
		av_frame_unref(c->scaled);
		c->scaled->width = cw;
		c->scaled->height = ch;
		c->scaled->format = AV_PIX_FMT_YUV420P;
		if (av_frame_get_buffer(c->scaled, 0) < 0)
			return errbuf_set(err, errlen, "out of memory");
	}
	c->sws = sws_getCachedContext(c->sws, f->width, f->height, (enum AVPixelFormat)f->format, cw, ch,
				      AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
	if (!c->sws || sws_scale(c->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, c->scaled->data,
				 c->scaled->linesize) < 0)
		return errbuf_set(err, errlen, "clip %s: cannot scale its %dx%d frames", c->path, f->width, f->height);
	return 0;
}

/* Brings the clip to the frame showing at t seconds. */
static int clip_seek(struct clip *c, double t, int w, int h, char *err, size_t errlen)
{
	int changed = 0;

	for (;;) {
		if (!c->have_next && !c->eof && clip_decode(c, err, errlen) < 0)
			return -1;
		if (!c->have_next)
			break;
		/* A frame is shown from its time on; the first one from the start. */
		if (c->shown && clip_time(c, c->next) > t + 1e-6)
			break;
		if (!c->shown)
			clip_time(c, c->next);
		if (clip_scale(c, c->next, w, h, err, errlen) < 0)
			return -1;
		av_frame_unref(c->next);
		c->have_next = 0;
		c->shown = changed = 1;
	}
	if (!c->shown)
		return errbuf_set(err, errlen, "clip %s: holds no picture", c->path);
	return changed;
}

static void clip_free(struct clip *c)
{
	if (!c)
		return;
	avformat_close_input(&c->fmt);
	avcodec_free_context(&c->dec);
	av_packet_free(&c->pkt);
	av_frame_free(&c->next);
	av_frame_free(&c->scaled);
	sws_freeContext(c->sws);
	free(c);
}

/* Copies the centre of the covering frame into out. */
static void crop_into(const AVFrame *src, AVFrame *out)
{
	int ox = ((src->width - out->width) / 2) & ~1, oy = ((src->height - out->height) / 2) & ~1;

	for (int p = 0; p < 3; p++) {
		int sh = p ? 1 : 0, w = AV_CEIL_RSHIFT(out->width, sh), h = AV_CEIL_RSHIFT(out->height, sh);

		for (int y = 0; y < h; y++)
			memcpy(out->data[p] + (ptrdiff_t)y * out->linesize[p],
			       src->data[p] + (ptrdiff_t)(y + (oy >> sh)) * src->linesize[p] + (ox >> sh), (size_t)w);
	}
}

static int open_burn(struct assemble__picture *p, const char *ass_path, char *err, size_t errlen)
{
	const struct assemble_spec *sp = p->sp;
	AVFilterContext *ass;
	char args[160];
	int ret;

	p->graph = avfilter_graph_alloc();
	if (!p->graph)
		return errbuf_set(err, errlen, "out of memory");
	p->graph->nb_threads = 1; /* the encode already has a thread per core */
	snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/%d:pixel_aspect=1/1:frame_rate=%d/1",
		 sp->width, sp->height, AV_PIX_FMT_YUV420P, sp->fps, sp->fps);
	ret = avfilter_graph_create_filter(&p->src, avfilter_get_by_name("buffer"), "in", args, NULL, p->graph);
	if (ret >= 0)
		ret = avfilter_graph_create_filter(&p->sink, avfilter_get_by_name("buffersink"), "out", NULL, NULL,
						   p->graph);
	ass = ret >= 0 ? avfilter_graph_alloc_filter(p->graph, avfilter_get_by_name("ass"), "subs") : NULL;
	if (!ass)
		return errbuf_set(err, errlen, "FFmpeg lacks the ass filter (libass)");
	/* Set as an option, not in a filter string, so the path needs no escaping. */
	ret = av_opt_set(ass, "filename", ass_path, AV_OPT_SEARCH_CHILDREN);
	if (ret >= 0)
		ret = avfilter_init_str(ass, NULL);
	if (ret >= 0)
		ret = avfilter_link(p->src, 0, ass, 0);
	if (ret >= 0)
		ret = avfilter_link(ass, 0, p->sink, 0);
	if (ret >= 0)
		ret = avfilter_graph_config(p->graph, NULL);
	if (ret < 0)
		return errbuf_set(err, errlen, "cannot set up subtitle drawing: %s", av_err2str(ret));
	return 0;
}

struct assemble__picture *assemble__picture_new(const struct assemble_spec *sp, size_t k, int64_t n_frames,
						const char *ass_path, char *err, size_t errlen)
{
	const struct assemble_shot *s = &sp->shots[k];
	struct assemble__picture *p = xcalloc(1, sizeof(*p));

	p->sp = sp;
	p->n = n_frames;
	p->last = -1;
	p->raw = av_frame_alloc();
	p->out = av_frame_alloc();
	if (!p->raw || !p->out) {
		errbuf_set(err, errlen, "out of memory");
		goto fail;
	}
	p->raw->format = AV_PIX_FMT_YUV420P;
	p->raw->width = sp->width;
	p->raw->height = sp->height;
	if (av_frame_get_buffer(p->raw, 0) < 0) {
		errbuf_set(err, errlen, "out of memory");
		goto fail;
	}
	if (s->video_path) {
		p->clip = xcalloc(1, sizeof(*p->clip));
		p->clip->path = s->video_path;
		p->clip->first_ts = AV_NOPTS_VALUE;
		if (clip_open(p->clip, err, errlen) < 0)
			goto fail;
	} else if (!(p->still = assemble__still_new(s->image_path, sp->width, sp->height, assemble__camera(s, k), err,
						    errlen))) {
		goto fail;
	}
	if (ass_path && open_burn(p, ass_path, err, errlen) < 0)
		goto fail;
	return p;
fail:
	assemble__picture_free(p);
	return NULL;
}

/* Draws frame i before subtitles into p->raw. */
static int draw(struct assemble__picture *p, int64_t i, char *err, size_t errlen)
{
	int changed;

	if (av_frame_make_writable(p->raw) < 0)
		return errbuf_set(err, errlen, "out of memory");
	if (p->still) {
		assemble__still_render(p->still, p->n > 1 ? (double)i / (double)(p->n - 1) : 0, p->raw);
		return 0;
	}
	changed = clip_seek(p->clip, (double)i / p->sp->fps, p->sp->width, p->sp->height, err, errlen);
	if (changed < 0)
		return -1;
	crop_into(p->clip->scaled, p->raw);
	return 0;
}

const AVFrame *assemble__picture_frame(struct assemble__picture *p, int64_t i, char *err, size_t errlen)
{
	int ret;

	i = i < 0 ? 0 : i >= p->n ? p->n - 1 : i;
	if (i == p->last)
		return p->out;  /* a transition holding the shot's first or last frame */
	av_frame_unref(p->out); /* first, so that drawing need not copy the buffer it shares */
	p->last = -1;
	if (draw(p, i, err, errlen) < 0)
		return NULL;
	p->last = i;
	if (!p->graph)
		return av_frame_ref(p->out, p->raw) < 0 ? NULL : p->out;
	p->raw->pts = i;
	ret = av_buffersrc_add_frame_flags(p->src, p->raw, AV_BUFFERSRC_FLAG_KEEP_REF);
	if (ret >= 0)
		ret = av_buffersink_get_frame(p->sink, p->out);
	if (ret < 0) {
		errbuf_set(err, errlen, "cannot draw subtitles: %s", av_err2str(ret));
		return NULL;
	}
	return p->out;
}

void assemble__picture_free(struct assemble__picture *p)
{
	if (!p)
		return;
	assemble__still_free(p->still);
	clip_free(p->clip);
	avfilter_graph_free(&p->graph);
	av_frame_free(&p->raw);
	av_frame_free(&p->out);
	free(p);
}
