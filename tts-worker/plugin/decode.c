/*
 * Vendor audio to the pipeline's format: whatever a vendor returns (MP3, WAV,
 * Ogg/Opus, FLAC, AAC, or headerless PCM) is decoded with libavformat and
 * libavcodec from memory, mixed to mono and resampled to 48 kHz; the parts of
 * a long narration are trimmed and joined with a short crossfade.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "errbuf.h"
#include "pcm.h"
#include "tts.h"
#include "banned.h"

#define IO_BUF 16384
#define MAX_PART_S 900 /* a part longer than this is refused */

/* The body being read by libavformat. */
struct membuf {
	const uint8_t *data;
	size_t len, pos;
};

static int read_mem(void *opaque, uint8_t *buf, int size)
{
	struct membuf *m = opaque;
	size_t left = m->len - m->pos, n = (size_t)size < left ? (size_t)size : left;
	if (n == 0)
		return AVERROR_EOF;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (int)n;
}

static int64_t seek_mem(void *opaque, int64_t off, int whence)
{
	struct membuf *m = opaque;
	int64_t base = whence == SEEK_CUR ? (int64_t)m->pos : whence == SEEK_END ? (int64_t)m->len : 0;
	if (whence == AVSEEK_SIZE)
		return (int64_t)m->len;
	if (base + off < 0 || base + off > (int64_t)m->len)
		return -1;
	m->pos = (size_t)(base + off);
	return (int64_t)m->pos;
}

/* Everything one decode needs; dec_close frees it. */
struct dec {
	struct membuf mem;
	AVIOContext *io;
	AVFormatContext *fmt;
	AVCodecContext *codec;
	SwrContext *swr;
	AVFrame *frame;
	AVPacket *pkt;
	int stream;
};

static void dec_close(struct dec *d)
{
	avcodec_free_context(&d->codec);
	avformat_close_input(&d->fmt);
	if (d->io) {
		av_freep(&d->io->buffer);
		avio_context_free(&d->io);
	}
	swr_free(&d->swr);
	av_frame_free(&d->frame);
	av_packet_free(&d->pkt);
}

static int av_fail(char *err, size_t errlen, const char *what, int ret)
{
	return errbuf_set(err, errlen, "%s: %s", what, av_err2str(ret));
}

static int dec_open(struct dec *d, char *err, size_t errlen)
{
	const AVCodec *codec = NULL;
	int ret;
	d->io = avio_alloc_context(av_malloc(IO_BUF), IO_BUF, 0, &d->mem, read_mem, NULL, seek_mem);
	d->fmt = avformat_alloc_context();
	d->fmt->pb = d->io;
	d->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	if ((ret = avformat_open_input(&d->fmt, NULL, NULL, NULL)) < 0)
		return av_fail(err, errlen, "not audio in a known format", ret);
	if ((ret = avformat_find_stream_info(d->fmt, NULL)) < 0)
		return av_fail(err, errlen, "unreadable audio", ret);
	if ((d->stream = av_find_best_stream(d->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0)) < 0 || !codec)
		return errbuf_set(err, errlen, "no audio stream in the body (%s)", d->fmt->iformat->name);
	d->codec = avcodec_alloc_context3(codec);
	if ((ret = avcodec_parameters_to_context(d->codec, d->fmt->streams[d->stream]->codecpar)) < 0 ||
	    (ret = avcodec_open2(d->codec, codec, NULL)) < 0)
		return av_fail(err, errlen, "cannot open the audio decoder", ret);
	d->frame = av_frame_alloc();
	d->pkt = av_packet_alloc();
	return 0;
}

/* Converts one decoded frame to mono 48 kHz samples appended to out. */
static int take_frame(struct dec *d, AVFrame *f, struct pcm *out, char *err, size_t errlen)
{
	AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
	int cap, got;
	if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) /* raw streams may not name their channels */
		av_channel_layout_default(&f->ch_layout, f->ch_layout.nb_channels);
	if (!d->swr) {
		if (swr_alloc_set_opts2(&d->swr, &mono, AV_SAMPLE_FMT_S16, PCM_RATE, &f->ch_layout,
					(enum AVSampleFormat)f->format, f->sample_rate, 0, NULL) < 0 ||
		    swr_init(d->swr) < 0)
			return errbuf_set(err, errlen, "cannot convert %d Hz %d-channel audio", f->sample_rate,
					  f->ch_layout.nb_channels);
	}
	cap = (int)av_rescale_rnd(swr_get_delay(d->swr, f->sample_rate) + f->nb_samples, PCM_RATE, f->sample_rate,
				  AV_ROUND_UP) +
	      64;
	int16_t *buf = xmalloc((size_t)cap * sizeof(*buf));
	uint8_t *dst = (uint8_t *)buf;
	got = swr_convert(d->swr, &dst, cap, (const uint8_t **)f->extended_data, f->nb_samples);
	bool ok = got >= 0 && pcm_append(out, buf, (size_t)got);
	free(buf);
	if (!ok)
		return got < 0 ? errbuf_set(err, errlen, "audio conversion failed")
			       : errbuf_set(err, errlen, "the audio is longer than %d s", MAX_PART_S);
	return 0;
}

static int drain(struct dec *d, struct pcm *out, char *err, size_t errlen)
{
	int ret;
	while ((ret = avcodec_receive_frame(d->codec, d->frame)) >= 0) {
		ret = take_frame(d, d->frame, out, err, errlen);
		av_frame_unref(d->frame);
		if (ret < 0)
			return -1;
	}
	return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : av_fail(err, errlen, "corrupt audio", ret);
}

static int decode_all(struct dec *d, struct pcm *out, char *err, size_t errlen)
{
	int ret;
	while ((ret = av_read_frame(d->fmt, d->pkt)) >= 0) {
		if (d->pkt->stream_index == d->stream) {
			ret = avcodec_send_packet(d->codec, d->pkt);
			/* A damaged packet in the middle is skipped, as players do. */
			if (ret < 0 && ret != AVERROR_INVALIDDATA && ret != AVERROR(EAGAIN)) {
				av_packet_unref(d->pkt);
				return av_fail(err, errlen, "corrupt audio", ret);
			}
		}
		av_packet_unref(d->pkt);
		if (drain(d, out, err, errlen) < 0)
			return -1;
	}
	if (ret != AVERROR_EOF)
		return av_fail(err, errlen, "cannot read the audio", ret);
	avcodec_send_packet(d->codec, NULL);
	return drain(d, out, err, errlen);
}

static int decode_raw(const struct tts_part *part, struct pcm *out, char *err, size_t errlen)
{
	size_t n = part->len / 2;
	if (part->len % 2)
		return errbuf_set(err, errlen, "PCM audio of an odd number of bytes (%zu)", part->len);
	if (!pcm_append(out, (const int16_t *)part->data, n))
		return errbuf_set(err, errlen, "the audio is longer than %d s", MAX_PART_S);
	return pcm_resample(out, part->raw_rate, err, errlen);
}

static int decode_part(const struct tts_part *part, struct pcm *out, char *err, size_t errlen)
{
	struct dec d = { .mem = { part->data, part->len, 0 } };
	int rc;
	out->limit = (size_t)PCM_RATE * MAX_PART_S;
	if (part->len == 0)
		return errbuf_set(err, errlen, "the audio body is empty");
	if (part->raw_rate > 0)
		return decode_raw(part, out, err, errlen);
	rc = dec_open(&d, err, errlen) < 0 ? -1 : decode_all(&d, out, err, errlen);
	dec_close(&d);
	if (rc == 0 && out->n == 0)
		rc = errbuf_set(err, errlen, "the audio holds no samples");
	return rc;
}

/* FFmpeg's own messages would land in the JSON log as bare lines; every
 * failure here is reported by the caller with av_err2str instead. */
static void quiet_ffmpeg(void)
{
	av_log_set_level(AV_LOG_QUIET);
}

int tts_decode_assemble(struct tts_part *parts, size_t n, const char *out_path, struct tts_result *res, char *err,
			size_t errlen)
{
	struct pcm all = { 0 }, one = { 0 };
	char why[300];
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int rc = -1;
	pthread_once(&once, quiet_ffmpeg);
	for (size_t i = 0; i < n; i++) {
		int64_t shift;
		pcm_release(&one);
		if (decode_part(&parts[i], &one, why, sizeof(why)) < 0) {
			errbuf_set(err, errlen, "part %zu of %zu: %s", i + 1, n, why);
			goto out;
		}
		if (pcm_trim(&one, PCM_RATE, PCM_PAD_MS, true, &shift) < 0) {
			errbuf_set(err, errlen, "part %zu of %zu: the audio is silent", i + 1, n);
			goto out;
		}
		size_t at = 0, len = one.n;
		if (i == 0) {
			all = one;
			one = (struct pcm){ 0 };
		} else {
			at = pcm_join(&all, &one);
		}
		parts[i].start_ms = pcm_ms(at);
		parts[i].shift_ms = parts[i].start_ms + shift * 1000 / PCM_RATE;
		parts[i].duration_ms = pcm_ms(len);
	}
	if (pcm_write_wav(out_path, &all, err, errlen) < 0)
		goto out;
	res->sample_rate = PCM_RATE;
	res->duration_ms = pcm_ms(all.n);
	rc = 0;
out:
	pcm_release(&one);
	pcm_release(&all);
	return rc;
}
