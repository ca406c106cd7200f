/*
 * The finished video's companions: the poster JPEG cut from the MP4 itself,
 * and SHA-256 digests (of files for the manifest, of strings for the
 * segment cache's keys).
 */
#include "assemble_files.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/sha.h>
#include <libswscale/swscale.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "banned.h"

static void to_hex(const uint8_t *md, unsigned n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
}

void assemble__sha256(const void *data, size_t n, char hex[65])
{
	struct AVSHA *sha = av_sha_alloc();
	uint8_t md[32];

	if (!sha)
		abort(); /* as xmalloc does: out of memory */
	av_sha_init(sha, 256);
	av_sha_update(sha, data, n);
	av_sha_final(sha, md);
	av_free(sha);
	to_hex(md, sizeof(md), hex);
}

int assemble_files_sha256(const char *path, char hex[65], int64_t *bytes)
{
	FILE *f = fopen(path, "rb");
	struct AVSHA *sha = av_sha_alloc();
	uint8_t buf[65536], md[32];
	size_t n;
	int rc = -1;

	*bytes = 0;
	if (f && sha && av_sha_init(sha, 256) == 0) {
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
			av_sha_update(sha, buf, n);
			*bytes += (int64_t)n;
		}
		if (!ferror(f)) {
			av_sha_final(sha, md);
			to_hex(md, sizeof(md), hex);
			rc = 0;
		}
	}
	av_free(sha);
	if (f)
		fclose(f);
	return rc;
}

/* Decodes frames of the video stream until the one showing at at_ms (or the last). */
static int grab(AVFormatContext *fmt, int index, AVCodecContext *dec, int64_t at_ms, AVFrame *out)
{
	const AVStream *st = fmt->streams[index];
	int64_t want = av_rescale_q(at_ms, (AVRational){ 1, 1000 }, st->time_base);
	AVPacket *pkt = av_packet_alloc();
	AVFrame *f = av_frame_alloc();
	int ret = pkt && f ? 0 : AVERROR(ENOMEM), eof = 0;

	while (ret >= 0) {
		ret = avcodec_receive_frame(dec, f);
		if (ret == 0) {
			av_frame_unref(out);
			av_frame_move_ref(out, f);
			if (out->best_effort_timestamp >= want)
				break;
			continue;
		}
		if (ret == AVERROR_EOF) {
			ret = out->data[0] ? 0 : ret;
			break;
		}
		if (ret != AVERROR(EAGAIN))
			break;
		ret = eof ? avcodec_send_packet(dec, NULL) : av_read_frame(fmt, pkt);
		if (ret == AVERROR_EOF && !eof) {
			eof = 1;
			ret = 0;
		} else if (ret >= 0 && !eof && pkt->stream_index == index) {
			ret = avcodec_send_packet(dec, pkt);
		}
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	av_frame_free(&f);
	return ret;
}

static int write_jpeg(const AVFrame *pic, const char *path, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	AVCodecContext *enc = codec ? avcodec_alloc_context3(codec) : NULL;
	AVFrame *f = av_frame_alloc();
	AVPacket *pkt = av_packet_alloc();
	struct SwsContext *sws = NULL;
	FILE *out = NULL;
	int ret = enc && f && pkt ? 0 : AVERROR(ENOMEM);

	if (ret >= 0) {
		enc->width = f->width = pic->width;
		enc->height = f->height = pic->height;
		enc->pix_fmt = f->format = AV_PIX_FMT_YUVJ420P;
		enc->time_base = (AVRational){ 1, 25 };
		enc->flags |= AV_CODEC_FLAG_QSCALE;
		enc->global_quality = FF_QP2LAMBDA * 3;
		ret = avcodec_open2(enc, codec, NULL);
	}
	if (ret >= 0)
		ret = av_frame_get_buffer(f, 0);
	sws = ret >= 0 ? sws_getContext(pic->width, pic->height, (enum AVPixelFormat)pic->format, f->width, f->height,
					AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, NULL, NULL, NULL)
		       : NULL;
	if (ret >= 0 && !sws)
		ret = AVERROR(EINVAL);
	if (ret >= 0)
		ret = sws_scale(sws, (const uint8_t *const *)pic->data, pic->linesize, 0, pic->height, f->data,
				f->linesize);
	if (ret >= 0 && (ret = avcodec_send_frame(enc, f)) >= 0 && (ret = avcodec_send_frame(enc, NULL)) >= 0)
		ret = avcodec_receive_packet(enc, pkt);
	if (ret >= 0 &&
	    (!(out = fopen(path, "wb")) || fwrite(pkt->data, 1, (size_t)pkt->size, out) != (size_t)pkt->size))
		ret = AVERROR(EIO);
	if (out && fclose(out) != 0)
		ret = AVERROR(EIO);
	sws_freeContext(sws);
	av_packet_free(&pkt);
	av_frame_free(&f);
	avcodec_free_context(&enc);
	if (ret < 0)
		return errbuf_set(err, errlen, "poster %s: %s", path, av_err2str(ret));
	return 0;
}

int assemble_files_poster(const char *mp4_path, int64_t at_ms, const char *jpg_path, char *err, size_t errlen)
{
	AVFormatContext *fmt = NULL;
	AVCodecContext *dec = NULL;
	const AVCodec *codec = NULL;
	AVFrame *pic = av_frame_alloc();
	int ret = avformat_open_input(&fmt, mp4_path, NULL, NULL), index = -1, rc = -1;

	if (ret >= 0)
		ret = avformat_find_stream_info(fmt, NULL);
	if (ret >= 0)
		ret = index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
	if (ret >= 0 && !(dec = avcodec_alloc_context3(codec)))
		ret = AVERROR(ENOMEM);
	if (ret >= 0)
		ret = avcodec_parameters_to_context(dec, fmt->streams[index]->codecpar);
	if (ret >= 0) {
		dec->pkt_timebase = fmt->streams[index]->time_base;
		ret = avcodec_open2(dec, codec, NULL);
	}
	if (ret >= 0 && pic)
		ret = grab(fmt, index, dec, at_ms, pic);
	if (ret < 0 || !pic || !pic->data[0])
		errbuf_set(err, errlen, "poster: cannot read a picture from %s: %s", mp4_path,
			   av_err2str(ret < 0 ? ret : AVERROR_INVALIDDATA));
	else
		rc = write_jpeg(pic, jpg_path, err, errlen);
	av_frame_free(&pic);
	avcodec_free_context(&dec);
	avformat_close_input(&fmt);
	return rc;
}
