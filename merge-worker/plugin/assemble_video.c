/*
 * Picture segments: video-only H.264 MP4 files, each a run of whole frames
 * encoded by libx264 with the job's settings. Segments made with the same
 * settings share their codec headers, so the final file joins them by
 * copying packets. Transitions are segments too: the xfade filter over the
 * tail of one shot and the head of the next.
 */
#include "assemble_video.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>

#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "banned.h"

struct assemble__segment {
	const char *path;
	AVFormatContext *oc;
	AVCodecContext *enc;
	AVStream *st;
	int64_t frames;
	int file_open;
};

struct assemble__xfade {
	AVFilterGraph *graph;
	AVFilterContext *src[2], *sink;
	AVFrame *out;
	int64_t pts;
};

int assemble__encode(struct AVFormatContext *oc, struct AVCodecContext *enc, struct AVStream *st,
		     const struct AVFrame *frame, char *err, size_t errlen)
{
	AVPacket *pkt;
	int ret = avcodec_send_frame(enc, frame);

	if (ret < 0)
		return errbuf_set(err, errlen, "%s encoder failed: %s", enc->codec->name, av_err2str(ret));
	pkt = av_packet_alloc();
	if (!pkt)
		return errbuf_set(err, errlen, "out of memory");
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
	return errbuf_set(err, errlen, "writing %s output failed: %s", enc->codec->name, av_err2str(ret));
}

static int open_encoder(struct assemble__segment *s, const struct assemble_spec *sp, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	const char *preset = sp->preset ? sp->preset : "veryfast";
	AVDictionary *opts = NULL;
	AVCodecContext *enc;
	int ret;

	if (!codec)
		return errbuf_set(err, errlen, "FFmpeg lacks the libx264 encoder");
	s->st = avformat_new_stream(s->oc, NULL);
	enc = s->enc = avcodec_alloc_context3(codec);
	if (!s->st || !enc)
		return errbuf_set(err, errlen, "out of memory");
	enc->width = sp->width;
	enc->height = sp->height;
	enc->pix_fmt = AV_PIX_FMT_YUV420P;
	enc->sample_aspect_ratio = (AVRational){ 1, 1 };
	enc->time_base = (AVRational){ 1, sp->fps };
	enc->framerate = (AVRational){ sp->fps, 1 };
	/* swscale's default matrix, so players need not guess. */
	enc->color_range = AVCOL_RANGE_MPEG;
	enc->colorspace = AVCOL_SPC_SMPTE170M;
	enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	/* libx264 picks its frame threads as the ffmpeg program does (avcodec's default is one). */
	enc->thread_count = 0;
	av_dict_set(&opts, "preset", preset, 0);
	av_dict_set_int(&opts, "crf", sp->crf ? sp->crf : 23, 0);
	ret = avcodec_open2(enc, codec, &opts);
	av_dict_free(&opts);
	if (ret < 0)
		return errbuf_set(err, errlen, "libx264 refused preset \"%s\", crf %d: %s", preset,
				  sp->crf ? sp->crf : 23, av_err2str(ret));
	if (avcodec_parameters_from_context(s->st->codecpar, enc) < 0)
		return errbuf_set(err, errlen, "out of memory");
	s->st->time_base = enc->time_base;
	s->st->avg_frame_rate = enc->framerate;
	return 0;
}

struct assemble__segment *assemble__segment_new(const struct assemble_spec *sp, const char *path, char *err,
						size_t errlen)
{
	struct assemble__segment *s = xcalloc(1, sizeof(*s));
	int ret;

	s->path = path;
	ret = avformat_alloc_output_context2(&s->oc, NULL, "mp4", path);
	if (ret < 0) {
		errbuf_set(err, errlen, "cannot set up MP4 output: %s", av_err2str(ret));
		goto fail;
	}
	if (open_encoder(s, sp, err, errlen) < 0)
		goto fail;
	if ((ret = avio_open(&s->oc->pb, path, AVIO_FLAG_WRITE)) < 0) {
		errbuf_set(err, errlen, "cannot create %s: %s", path, av_err2str(ret));
		goto fail;
	}
	s->file_open = 1;
	if ((ret = avformat_write_header(s->oc, NULL)) < 0) {
		errbuf_set(err, errlen, "cannot write %s: %s", path, av_err2str(ret));
		goto fail;
	}
	return s;
fail:
	(void)assemble__segment_close(s, 1, NULL, 0);
	return NULL;
}

int assemble__segment_add(struct assemble__segment *s, const AVFrame *f, char *err, size_t errlen)
{
	AVFrame *copy = av_frame_clone(f);
	int rc;

	if (!copy)
		return errbuf_set(err, errlen, "out of memory");
	copy->pts = s->frames++;
	copy->pict_type = AV_PICTURE_TYPE_NONE;
	rc = assemble__encode(s->oc, s->enc, s->st, copy, err, errlen);
	av_frame_free(&copy);
	return rc;
}

int64_t assemble__segment_frames(const struct assemble__segment *s)
{
	return s->frames;
}

int assemble__segment_close(struct assemble__segment *s, int failed, char *err, size_t errlen)
{
	int rc = failed ? -1 : 0, ret;

	if (!failed &&
	    (assemble__encode(s->oc, s->enc, s->st, NULL, err, errlen) < 0 || (ret = av_write_trailer(s->oc)) < 0))
		rc = errbuf_set(err, errlen, "cannot finish segment %s", s->path);
	if (s->file_open)
		avio_closep(&s->oc->pb);
	if (rc < 0 && s->file_open)
		unlink(s->path);
	avformat_free_context(s->oc);
	avcodec_free_context(&s->enc);
	free(s);
	return rc;
}

struct assemble__xfade *assemble__xfade_new(const struct assemble_spec *sp, int n, char *err, size_t errlen)
{
	struct assemble__xfade *x = xcalloc(1, sizeof(*x));
	AVFilterContext *xf = NULL;
	char args[160];
	int ret = 0;

	x->graph = avfilter_graph_alloc();
	x->out = av_frame_alloc();
	if (!x->graph || !x->out) {
		errbuf_set(err, errlen, "out of memory");
		goto fail;
	}
	x->graph->nb_threads = 1;
	snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/%d:pixel_aspect=1/1:frame_rate=%d/1",
		 sp->width, sp->height, AV_PIX_FMT_YUV420P, sp->fps, sp->fps);
	for (int i = 0; i < 2 && ret >= 0; i++)
		ret = avfilter_graph_create_filter(&x->src[i], avfilter_get_by_name("buffer"), i ? "b" : "a", args,
						   NULL, x->graph);
	/* The kind was checked against a fixed list, so it is safe in the string. */
	snprintf(args, sizeof(args), "transition=%s:duration=%.6f:offset=0", sp->transition, (double)n / sp->fps);
	if (ret >= 0)
		ret = avfilter_graph_create_filter(&xf, avfilter_get_by_name("xfade"), "xfade", args, NULL, x->graph);
	if (ret >= 0)
		ret = avfilter_graph_create_filter(&x->sink, avfilter_get_by_name("buffersink"), "out", NULL, NULL,
						   x->graph);
	for (int i = 0; i < 2 && ret >= 0; i++)
		ret = avfilter_link(x->src[i], 0, xf, (unsigned)i);
	if (ret >= 0)
		ret = avfilter_link(xf, 0, x->sink, 0);
	if (ret >= 0)
		ret = avfilter_graph_config(x->graph, NULL);
	if (ret < 0) {
		errbuf_set(err, errlen, "cannot set up the %s transition: %s", sp->transition, av_err2str(ret));
		goto fail;
	}
	return x;
fail:
	assemble__xfade_free(x);
	return NULL;
}

int assemble__xfade_push(struct assemble__xfade *x, const AVFrame *a, const AVFrame *b, struct assemble__segment *seg,
			 char *err, size_t errlen)
{
	const AVFrame *in[2] = { a, b };
	int ret = 0;

	for (int i = 0; i < 2 && ret >= 0; i++) {
		AVFrame *f = in[i] ? av_frame_clone(in[i]) : NULL;

		if (f)
			f->pts = x->pts;
		ret = av_buffersrc_add_frame_flags(x->src[i], f, in[i] ? 0 : AV_BUFFERSRC_FLAG_PUSH);
		av_frame_free(&f);
	}
	x->pts++;
	while (ret >= 0 && (ret = av_buffersink_get_frame(x->sink, x->out)) >= 0) {
		ret = assemble__segment_add(seg, x->out, err, errlen);
		av_frame_unref(x->out);
		if (ret < 0)
			return -1;
	}
	if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
		return 0;
	return errbuf_set(err, errlen, "the transition failed: %s", av_err2str(ret));
}

void assemble__xfade_free(struct assemble__xfade *x)
{
	if (!x)
		return;
	avfilter_graph_free(&x->graph);
	av_frame_free(&x->out);
	free(x);
}
