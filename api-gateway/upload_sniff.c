/*
 * Upload sniffing (upload_sniff.h). A file is taken when libavformat names
 * a container we know and finds the streams its kind needs: an image is one
 * picture in an image format; audio has an audio stream and no moving
 * picture (an MP3's cover art does not count); a video has a moving picture.
 */
#include "upload_sniff.h"

#include <stdio.h>
#include <string.h>

#include <libavformat/avformat.h>

#include "errbuf.h"
#include "banned.h"

/* libavformat's demuxer names and the MIME types they mean. */
struct container {
	const char *demuxer;
	enum upload_kind kind; /* UPLOAD_IMAGE for image formats; otherwise decided by the streams */
	const char *audio_type, *video_type;
};

static const struct container containers[] = {
	{ "png_pipe", UPLOAD_IMAGE, NULL, "image/png" },
	{ "jpeg_pipe", UPLOAD_IMAGE, NULL, "image/jpeg" },
	{ "webp_pipe", UPLOAD_IMAGE, NULL, "image/webp" },
	{ "gif", UPLOAD_IMAGE, NULL, "image/gif" },
	{ "mp3", UPLOAD_AUDIO, "audio/mpeg", NULL },
	{ "wav", UPLOAD_AUDIO, "audio/wav", NULL },
	{ "flac", UPLOAD_AUDIO, "audio/flac", NULL },
	{ "aac", UPLOAD_AUDIO, "audio/aac", NULL },
	{ "ogg", UPLOAD_AUDIO, "audio/ogg", "video/ogg" },
	{ "mov,mp4,m4a,3gp,3g2,mj2", UPLOAD_AUDIO, "audio/mp4", "video/mp4" },
	{ "matroska,webm", UPLOAD_AUDIO, "audio/webm", "video/webm" },
};

const char *upload_sniff_kind_name(enum upload_kind k)
{
	return k == UPLOAD_AUDIO ? "audio" : k == UPLOAD_IMAGE ? "image" : "video";
}

static const struct container *container_of(const char *demuxer)
{
	for (size_t i = 0; i < ARRAY_SIZE(containers); i++)
		if (strcmp(containers[i].demuxer, demuxer) == 0)
			return &containers[i];
	return NULL;
}

/* The first moving picture (cover art is a still attached to audio), or NULL. */
static const AVStream *moving_picture(const AVFormatContext *fc)
{
	for (unsigned i = 0; i < fc->nb_streams; i++) {
		const AVStream *st = fc->streams[i];
		if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
			return st;
	}
	return NULL;
}

static int has_audio(const AVFormatContext *fc)
{
	for (unsigned i = 0; i < fc->nb_streams; i++)
		if (fc->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
			return 1;
	return 0;
}

/* Fills m from the probed file; -1 with err when its streams do not make one kind of media. */
static int classify(const AVFormatContext *fc, const struct container *c, struct upload_media *m, char *err,
		    size_t errlen)
{
	const AVStream *pic = moving_picture(fc);
	memset(m, 0, sizeof(*m));
	if (c->kind == UPLOAD_IMAGE || pic) {
		if (!pic || pic->codecpar->width <= 0 || pic->codecpar->height <= 0)
			return errbuf_set(err, errlen, "the %s has no picture of a known size", c->demuxer);
		m->kind = c->kind == UPLOAD_IMAGE ? UPLOAD_IMAGE : UPLOAD_VIDEO;
		m->width = pic->codecpar->width;
		m->height = pic->codecpar->height;
	} else if (has_audio(fc)) {
		m->kind = UPLOAD_AUDIO;
	} else {
		return errbuf_set(err, errlen, "the %s file holds neither sound nor pictures", c->demuxer);
	}
	const char *type = m->kind == UPLOAD_AUDIO ? c->audio_type : c->video_type;
	if (!type)
		return errbuf_set(err, errlen, "a %s file holding %s is not taken", c->demuxer,
				  upload_sniff_kind_name(m->kind));
	snprintf(m->content_type, sizeof(m->content_type), "%s", type);
	if (m->kind != UPLOAD_IMAGE) {
		if (fc->duration <= 0)
			return errbuf_set(err, errlen, "the %s has no duration", upload_sniff_kind_name(m->kind));
		m->duration_ms = (long)(fc->duration / (AV_TIME_BASE / 1000));
	}
	return 0;
}

int upload_sniff(const char *path, struct upload_media *m, char *err, size_t errlen)
{
	AVFormatContext *fc = NULL;
	int rc = -1;
	av_log_set_level(AV_LOG_QUIET); /* refusals are reported through err, not FFmpeg's stderr */
	if (avformat_open_input(&fc, path, NULL, NULL) < 0)
		return errbuf_set(err, errlen, "the bytes are no audio, image or video format FFmpeg knows");
	const struct container *c = container_of(fc->iformat->name);
	if (!c)
		errbuf_set(err, errlen, "the bytes are %s, which uploads do not take",
			   fc->iformat->long_name ? fc->iformat->long_name : fc->iformat->name);
	else if (avformat_find_stream_info(fc, NULL) < 0)
		errbuf_set(err, errlen, "the %s file's streams cannot be read", c->demuxer);
	else
		rc = classify(fc, c, m, err, errlen);
	avformat_close_input(&fc);
	return rc;
}
