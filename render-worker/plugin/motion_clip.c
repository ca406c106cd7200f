/*
 * Offline image-to-video clips: a libavfilter graph (movie source on the
 * keyframe -> Lanczos upscale -> zoompan for a slow zoom -> yuv420p) pulled
 * frame by frame into libx264 and an MP4 muxer.
 * DESIGN: like keyframe.c, no shared state; each call owns its graph, encoder
 * and output file, and the encoder runs single-threaded because the worker
 * already runs several renders at once on the libuv thread pool. The still is
 * upscaled twice before zoompan crops it, so the crop's whole-pixel steps
 * are half a pixel of the output and the zoom glides.
 */
#include "motion_clip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>

#include "errbuf.h"
#include "keyframe.h"
#include "banned.h"

#define ZOOM_END 1.10 /* the last frame shows the middle 1/1.1 of the still */
#define CLIP_CRF "23"

/* The clip being written: muxer, encoder and their one stream. */
struct clip_out {
	AVFormatContext *oc;
	AVCodecContext *enc;
	AVStream *st;
	AVPacket *pkt;
};

static int clip_fail(char *err, size_t errlen, const char *what, int ret)
{
	char buf[AV_ERROR_MAX_STRING_SIZE];
	av_strerror(ret, buf, sizeof(buf));
	return errbuf_set(err, errlen, "motion clip: %s: %s", what, buf);
}

static const AVCodec *h264_encoder(void)
{
	const AVCodec *c = avcodec_find_encoder_by_name("libx264");
	return c ? c : avcodec_find_encoder(AV_CODEC_ID_H264);
}

static int open_encoder(struct clip_out *o, int width, int height, int fps, char *err, size_t errlen)
{
	const AVCodec *codec = h264_encoder();
	int ret;
	if (!codec)
		return errbuf_set(err, errlen, "motion clip: no H.264 encoder in this FFmpeg build");
	o->enc = avcodec_alloc_context3(codec);
	if (!o->enc)
		return errbuf_set(err, errlen, "motion clip: out of memory");
	o->enc->width = width;
	o->enc->height = height;
	o->enc->pix_fmt = AV_PIX_FMT_YUV420P;
	o->enc->time_base = (AVRational){ 1, fps };
	o->enc->framerate = (AVRational){ fps, 1 };
	o->enc->thread_count = 1;
	if (o->oc->oformat->flags & AVFMT_GLOBALHEADER)
		o->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	av_opt_set(o->enc->priv_data, "preset", "veryfast", 0);
	av_opt_set(o->enc->priv_data, "crf", CLIP_CRF, 0);
	ret = avcodec_open2(o->enc, codec, NULL);
	if (ret < 0)
		return clip_fail(err, errlen, "opening the encoder", ret);
	ret = avcodec_parameters_from_context(o->st->codecpar, o->enc);
	if (ret < 0)
		return clip_fail(err, errlen, "stream parameters", ret);
	o->st->time_base = o->enc->time_base;
	o->st->avg_frame_rate = o->enc->framerate;
	return 0;
}

static int open_output(struct clip_out *o, const char *path, int width, int height, int fps, char *err, size_t errlen)
{
	int ret = avformat_alloc_output_context2(&o->oc, NULL, "mp4", path);
	if (ret < 0)
		return clip_fail(err, errlen, "the MP4 muxer", ret);
	o->st = avformat_new_stream(o->oc, NULL);
	o->pkt = av_packet_alloc();
	if (!o->st || !o->pkt)
		return errbuf_set(err, errlen, "motion clip: out of memory");
	if (open_encoder(o, width, height, fps, err, errlen) < 0)
		return -1;
	ret = avio_open(&o->oc->pb, path, AVIO_FLAG_WRITE);
	if (ret < 0)
		return clip_fail(err, errlen, "opening the output", ret);
	ret = avformat_write_header(o->oc, NULL);
	return ret < 0 ? clip_fail(err, errlen, "writing the MP4 header", ret) : 0;
}

/* Sends frame (NULL: flush) and writes every packet the encoder has ready. */
static int encode(struct clip_out *o, const AVFrame *frame, char *err, size_t errlen)
{
	int ret = avcodec_send_frame(o->enc, frame);
	if (ret < 0)
		return clip_fail(err, errlen, "encoding", ret);
	while ((ret = avcodec_receive_packet(o->enc, o->pkt)) == 0) {
		if (o->pkt->duration <= 0) /* else the last frame would get no time in the MP4 */
			o->pkt->duration = 1;
		av_packet_rescale_ts(o->pkt, o->enc->time_base, o->st->time_base);
		o->pkt->stream_index = o->st->index;
		ret = av_interleaved_write_frame(o->oc, o->pkt);
		if (ret < 0)
			return clip_fail(err, errlen, "writing a packet", ret);
	}
	return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : clip_fail(err, errlen, "encoding", ret);
}

/* Closes everything; the trailer only after a complete clip. 0, or -1 when the trailer failed. */
static int close_output(struct clip_out *o, int complete)
{
	int ret = 0;
	if (complete)
		ret = av_write_trailer(o->oc);
	if (o->oc && o->oc->pb)
		avio_closep(&o->oc->pb);
	avformat_free_context(o->oc);
	avcodec_free_context(&o->enc);
	av_packet_free(&o->pkt);
	return ret < 0 ? -1 : 0;
}

/* Pulls n frames out of the graph's sink into the encoder, numbering them. */
static int pump(AVFilterContext *sink, struct clip_out *o, long n, char *err, size_t errlen)
{
	AVFrame *frame = av_frame_alloc();
	int rc = 0;
	if (!frame)
		return errbuf_set(err, errlen, "motion clip: out of memory");
	for (long i = 0; i < n && rc == 0; i++) {
		int ret = av_buffersink_get_frame(sink, frame);
		if (ret < 0) {
			rc = clip_fail(err, errlen, "the camera move", ret);
			break;
		}
		frame->pts = i;
		frame->pict_type = AV_PICTURE_TYPE_NONE;
		rc = encode(o, frame, err, errlen);
		av_frame_unref(frame);
	}
	av_frame_free(&frame);
	return rc < 0 ? -1 : encode(o, NULL, err, errlen);
}

static char *graph_desc(const char *still_path, int width, int height, int fps, long frames)
{
	return xasprintf("movie=%s,scale=%d:%d:flags=lanczos,"
			 "zoompan=z='1+%.4f*on/%ld':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=%ld:s=%dx%d:fps=%d,"
			 "format=yuv420p,setsar=1",
			 still_path, 2 * width, 2 * height, ZOOM_END - 1.0, frames > 1 ? frames - 1 : 1, frames, width,
			 height, fps);
}

int motion_clip_make(const char *still_path, int width, int height, int fps, long duration_ms, const char *out_path,
		     char *err, size_t errlen)
{
	struct clip_out o = { 0 };
	AVFilterGraph *graph = NULL;
	AVFilterContext *sink;
	int rc;

	if (!keyframe__plain_path(still_path) || !keyframe__plain_path(out_path))
		return errbuf_set(err, errlen, "motion clip: unusual characters in a file path");
	if (width < KEYFRAME_MIN_SIDE || height < KEYFRAME_MIN_SIDE || width > KEYFRAME_MAX_SIDE ||
	    height > KEYFRAME_MAX_SIDE || width % 2 || height % 2 || fps < 1 || fps > 60)
		return errbuf_set(err, errlen, "motion clip: unsupported size %dx%d at %d fps", width, height, fps);
	if (duration_ms < MOTION_CLIP_MIN_MS)
		duration_ms = MOTION_CLIP_MIN_MS;
	if (duration_ms > MOTION_CLIP_MAX_MS)
		duration_ms = MOTION_CLIP_MAX_MS;
	long frames = (duration_ms * fps + 999) / 1000;
	char *desc = graph_desc(still_path, width, height, fps, frames);
	rc = keyframe__graph_open(desc, &graph, &sink, err, errlen);
	free(desc);
	if (rc == 0)
		rc = open_output(&o, out_path, width, height, fps, err, errlen);
	if (rc == 0)
		rc = pump(sink, &o, frames, err, errlen);
	if (close_output(&o, rc == 0) < 0 && rc == 0)
		rc = errbuf_set(err, errlen, "motion clip: the MP4 trailer could not be written");
	avfilter_graph_free(&graph);
	return rc;
}
