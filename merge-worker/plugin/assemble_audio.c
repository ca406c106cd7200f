/*
 * The audio half of assemble_mp4: decodes narration and music, resampled to
 * 48 kHz stereo, into one soundtrack in memory (every shot's narration at
 * its exact sample, trimmed to its span), and encodes it to AAC beside the
 * picture.
 */
#include "assemble_audio.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include <string.h>
#include <unistd.h>

#include "assemble_video.h"
#include "errbuf.h"
#include "banned.h"

#define BIT_RATE 128000

/* One shot's narration, decoded only as far as the track needs it. */
struct source {
	const char *path;
	AVFormatContext *fmt;
	AVCodecContext *dec;
	SwrContext *swr; /* made from the first decoded frame's format */
	AVPacket *pkt;
	AVFrame *frame;
	AVAudioFifo *fifo; /* resampled, not yet on the track */
	uint8_t *tmp[2];   /* resampler output, tmp_cap samples per channel */
	int tmp_cap;
	int in_rate, in_format, in_channels; /* what swr was made for */
	int stream;
	int eof;
};

struct assemble__aac {
	AVFormatContext *oc;
	AVStream *st;
	AVCodecContext *enc;
	AVFrame *frame;
	int64_t pts; /* samples already sent to the encoder */
};

static void source_free(struct source *s)
{
	if (!s)
		return;
	avformat_close_input(&s->fmt);
	avcodec_free_context(&s->dec);
	swr_free(&s->swr);
	av_packet_free(&s->pkt);
	av_frame_free(&s->frame);
	if (s->fifo)
		av_audio_fifo_free(s->fifo);
	av_freep(&s->tmp[0]);
	free(s);
}

static int open_decoder(struct source *s, char *err, size_t errlen)
{
	const AVCodecParameters *par;
	const AVCodec *codec;
	int ret;

	ret = av_find_best_stream(s->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	if (ret < 0)
		return errbuf_set(err, errlen, "audio %s: no audio stream", s->path);
	s->stream = ret;
	par = s->fmt->streams[ret]->codecpar;
	codec = avcodec_find_decoder(par->codec_id);
	if (!codec)
		return errbuf_set(err, errlen, "audio %s: no decoder for codec %s", s->path,
				  avcodec_get_name(par->codec_id));
	s->dec = avcodec_alloc_context3(codec);
	if (!s->dec)
		return errbuf_set(err, errlen, "audio %s: out of memory", s->path);
	ret = avcodec_parameters_to_context(s->dec, par);
	if (ret >= 0) {
		s->dec->pkt_timebase = s->fmt->streams[s->stream]->time_base;
		ret = avcodec_open2(s->dec, codec, NULL);
	}
	if (ret < 0)
		return errbuf_set(err, errlen, "audio %s: cannot open decoder: %s", s->path, av_err2str(ret));
	return 0;
}

static int source_open(struct source *s, char *err, size_t errlen)
{
	int ret;

	ret = avformat_open_input(&s->fmt, s->path, NULL, NULL);
	if (ret < 0)
		return errbuf_set(err, errlen, "audio %s: cannot open: %s", s->path, av_err2str(ret));
	ret = avformat_find_stream_info(s->fmt, NULL);
	if (ret < 0)
		return errbuf_set(err, errlen, "audio %s: cannot read: %s", s->path, av_err2str(ret));
	if (open_decoder(s, err, errlen) < 0)
		return -1;
	s->pkt = av_packet_alloc();
	s->frame = av_frame_alloc();
	s->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, 4096);
	if (!s->pkt || !s->frame || !s->fifo)
		return errbuf_set(err, errlen, "audio %s: out of memory", s->path);
	return 0;
}

static int make_resampler(struct source *s, const AVFrame *f, char *err, size_t errlen)
{
	static const double dual_mono[2] = { 1.0, 1.0 };
	AVChannelLayout in = { 0 }, out = AV_CHANNEL_LAYOUT_STEREO;
	int ret;

	/* WAV and raw inputs often carry only a channel count. */
	if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || !av_channel_layout_check(&f->ch_layout))
		av_channel_layout_default(&in, f->ch_layout.nb_channels);
	else if (av_channel_layout_copy(&in, &f->ch_layout) < 0)
		return errbuf_set(err, errlen, "audio %s: out of memory", s->path);
	ret = swr_alloc_set_opts2(&s->swr, &out, AV_SAMPLE_FMT_FLTP, ASSEMBLE__RATE, &in,
				  (enum AVSampleFormat)f->format, f->sample_rate, 0, NULL);
	/* Mono narration goes to both speakers at full level, not the -3 dB pan. */
	if (ret >= 0 && in.nb_channels == 1)
		ret = swr_set_matrix(s->swr, dual_mono, 1);
	av_channel_layout_uninit(&in);
	if (ret >= 0)
		ret = swr_init(s->swr);
	if (ret < 0)
		return errbuf_set(err, errlen, "audio %s: cannot resample %d Hz, %d channels: %s", s->path,
				  f->sample_rate, f->ch_layout.nb_channels, av_err2str(ret));
	s->in_rate = f->sample_rate;
	s->in_format = f->format;
	s->in_channels = f->ch_layout.nb_channels;
	return 0;
}

/* Resamples n_in input samples (NULL drains the resampler) into the fifo. */
static int resample(struct source *s, const uint8_t **in, int n_in, char *err, size_t errlen)
{
	int cap = swr_get_out_samples(s->swr, n_in), n;

	if (cap < 0)
		return errbuf_set(err, errlen, "audio %s: resampler failed", s->path);
	if (cap > s->tmp_cap) {
		av_freep(&s->tmp[0]);
		s->tmp_cap = 0;
		if (av_samples_alloc(s->tmp, NULL, 2, cap, AV_SAMPLE_FMT_FLTP, 0) < 0)
			return errbuf_set(err, errlen, "audio %s: out of memory", s->path);
		s->tmp_cap = cap;
	}
	n = swr_convert(s->swr, s->tmp, cap, in, n_in);
	if (n < 0)
		return errbuf_set(err, errlen, "audio %s: resampling failed: %s", s->path, av_err2str(n));
	if (n > 0 && av_audio_fifo_write(s->fifo, (void **)s->tmp, n) < n)
		return errbuf_set(err, errlen, "audio %s: out of memory", s->path);
	return 0;
}

static int take_frame(struct source *s, char *err, size_t errlen)
{
	const AVFrame *f = s->frame;
	int rc;

	if (!s->swr && make_resampler(s, f, err, errlen) < 0)
		return -1;
	/* The resampler was set up for the first frame; a change would garble it. */
	if (f->sample_rate != s->in_rate || f->format != s->in_format || f->ch_layout.nb_channels != s->in_channels)
		return errbuf_set(err, errlen, "audio %s: sample format changes mid-stream", s->path);
	rc = resample(s, (const uint8_t **)f->extended_data, f->nb_samples, err, errlen);
	av_frame_unref(s->frame);
	return rc;
}

/* Feeds the decoder one packet of our stream, or the end-of-stream marker. */
static int feed_decoder(struct source *s, char *err, size_t errlen)
{
	int ret = av_read_frame(s->fmt, s->pkt);

	if (ret == AVERROR_EOF)
		ret = avcodec_send_packet(s->dec, NULL);
	else if (ret < 0)
		return errbuf_set(err, errlen, "audio %s: read failed: %s", s->path, av_err2str(ret));
	else if (s->pkt->stream_index == s->stream)
		ret = avcodec_send_packet(s->dec, s->pkt);
	av_packet_unref(s->pkt);
	if (ret < 0 && ret != AVERROR_EOF)
		return errbuf_set(err, errlen, "audio %s: cannot decode: %s", s->path, av_err2str(ret));
	return 0;
}

/* Decodes until the fifo holds n samples or the narration has ended. */
static int source_want(struct source *s, int n, char *err, size_t errlen)
{
	while (!s->eof && av_audio_fifo_size(s->fifo) < n) {
		int ret = avcodec_receive_frame(s->dec, s->frame);

		if (ret == 0) {
			if (take_frame(s, err, errlen) < 0)
				return -1;
		} else if (ret == AVERROR(EAGAIN)) {
			if (feed_decoder(s, err, errlen) < 0)
				return -1;
		} else if (ret == AVERROR_EOF) {
			s->eof = 1;
			if (s->swr && resample(s, NULL, 0, err, errlen) < 0)
				return -1;
		} else {
			return errbuf_set(err, errlen, "audio %s: cannot decode: %s", s->path, av_err2str(ret));
		}
	}
	return 0;
}

static int decode_into(const char *path, struct assemble__pcm *out, int64_t at, int64_t max, int64_t *got, char *err,
		       size_t errlen)
{
	struct source *s = xcalloc(1, sizeof(*s));
	int rc = 0;

	s->path = path;
	*got = 0;
	if (source_open(s, err, errlen) < 0)
		rc = -1;
	while (rc == 0 && *got < max) {
		int want = max - *got < 48000 ? (int)(max - *got) : 48000, n;
		void *dst[2] = { out->ch[0] + at + *got, out->ch[1] + at + *got };

		if (source_want(s, want, err, errlen) < 0) {
			rc = -1;
			break;
		}
		n = av_audio_fifo_read(s->fifo, dst, want);
		if (n <= 0)
			break;
		*got += n;
	}
	source_free(s);
	return rc;
}

/* Every shot's narration at its start, trimmed to its span; the rest silence. */
static int lay_narration(const struct assemble_spec *sp, const int64_t *starts, struct assemble__pcm *voice, char *err,
			 size_t errlen)
{
	for (size_t k = 0; k < sp->n_shots; k++) {
		const char *path = sp->shots[k].audio_path;
		int64_t got;

		if (sp->cancel && atomic_load(sp->cancel)) /* a long soundtrack must not hold up a shutdown */
			return errbuf_set(err, errlen, "canceled");
		if (path && *path &&
		    decode_into(path, voice, starts[k], starts[k + 1] - starts[k], &got, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* The music bed: a bundled track, or the file looped to the length of voice. */
static int load_music(const char *music, int64_t n, struct assemble__pcm *out, char *err, size_t errlen)
{
	int64_t got;

	if (assemble__pcm_track(music, out, n) == 0)
		return 0;
	if (access(music, R_OK) < 0)
		return errbuf_set(err, errlen, "music %s: neither a bundled track nor a readable file", music);
	assemble__pcm_alloc(out, n);
	if (decode_into(music, out, 0, n, &got, err, errlen) < 0)
		return -1;
	if (got == 0)
		return errbuf_set(err, errlen, "music %s: holds no audio", music);
	for (int64_t i = got; i < n; i++)
		for (int c = 0; c < 2; c++)
			out->ch[c][i] = out->ch[c][i % got];
	return 0;
}

int assemble__voice_and_music(const struct assemble_spec *sp, const int64_t *starts, int64_t total,
			      struct assemble__pcm *voice, struct assemble__pcm *music, char *err, size_t errlen)
{
	assemble__pcm_alloc(voice, total);
	if (lay_narration(sp, starts, voice, err, errlen) < 0)
		return -1;
	if (sp->music && *sp->music)
		return load_music(sp->music, total, music, err, errlen);
	return 0;
}

static int open_encoder(struct assemble__aac *a, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("aac");
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	AVCodecContext *enc;
	int ret;

	if (!codec)
		return errbuf_set(err, errlen, "FFmpeg lacks the aac encoder");
	enc = a->enc = avcodec_alloc_context3(codec);
	if (!enc)
		return errbuf_set(err, errlen, "out of memory");
	enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
	enc->sample_rate = ASSEMBLE__RATE;
	enc->bit_rate = BIT_RATE;
	enc->time_base = (AVRational){ 1, ASSEMBLE__RATE };
	ret = av_channel_layout_copy(&enc->ch_layout, &stereo);
	if (a->oc->oformat->flags & AVFMT_GLOBALHEADER)
		enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if (ret >= 0)
		ret = avcodec_open2(enc, codec, NULL);
	if (ret >= 0)
		ret = avcodec_parameters_from_context(a->st->codecpar, enc);
	if (ret < 0)
		return errbuf_set(err, errlen, "cannot open the aac encoder: %s", av_err2str(ret));
	a->st->time_base = enc->time_base;
	return 0;
}

struct assemble__aac *assemble__aac_new(struct AVFormatContext *oc, char *err, size_t errlen)
{
	struct assemble__aac *a = xcalloc(1, sizeof(*a));

	a->oc = oc;
	a->st = avformat_new_stream(oc, NULL);
	a->frame = av_frame_alloc();
	if (!a->st || !a->frame) {
		errbuf_set(err, errlen, "out of memory");
		goto fail;
	}
	if (open_encoder(a, err, errlen) < 0)
		goto fail;
	a->frame->format = AV_SAMPLE_FMT_FLTP;
	a->frame->sample_rate = ASSEMBLE__RATE;
	a->frame->nb_samples = a->enc->frame_size > 0 ? a->enc->frame_size : 1024;
	if (av_channel_layout_copy(&a->frame->ch_layout, &a->enc->ch_layout) < 0 ||
	    av_frame_get_buffer(a->frame, 0) < 0) {
		errbuf_set(err, errlen, "out of memory");
		goto fail;
	}
	return a;
fail:
	assemble__aac_free(a);
	return NULL;
}

int assemble__aac_write(struct assemble__aac *a, const struct assemble__pcm *pcm, int64_t until, char *err,
			size_t errlen)
{
	int size = a->enc->frame_size > 0 ? a->enc->frame_size : 1024;

	if (until > pcm->n)
		until = pcm->n;
	while (a->pts < until) {
		int n = until - a->pts < size ? (int)(until - a->pts) : size;

		/* Only whole frames until the end: the encoder wants frame_size samples. */
		if (n < size && until < pcm->n)
			break;
		/* The encoder may still hold a reference to the last frame sent. */
		if (av_frame_make_writable(a->frame) < 0)
			return errbuf_set(err, errlen, "out of memory");
		for (int c = 0; c < 2; c++)
			memcpy(a->frame->data[c], pcm->ch[c] + a->pts, (size_t)n * sizeof(float));
		a->frame->nb_samples = n;
		a->frame->pts = a->pts;
		if (assemble__encode(a->oc, a->enc, a->st, a->frame, err, errlen) < 0)
			return -1;
		a->pts += n;
	}
	return 0;
}

int assemble__aac_finish(struct assemble__aac *a, const struct assemble__pcm *pcm, char *err, size_t errlen)
{
	if (assemble__aac_write(a, pcm, pcm->n, err, errlen) < 0)
		return -1;
	return assemble__encode(a->oc, a->enc, a->st, NULL, err, errlen);
}

void assemble__aac_free(struct assemble__aac *a)
{
	if (!a)
		return;
	avcodec_free_context(&a->enc);
	av_frame_free(&a->frame);
	free(a);
}
