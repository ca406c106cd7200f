/*
 * What an uploaded file really is, from its bytes: FFmpeg's libavformat
 * probes the container and streams (never the declared type or the name).
 */
#ifndef REEL_UPLOAD_SNIFF_H
#define REEL_UPLOAD_SNIFF_H

#include <stddef.h>

#include "util.h"

enum upload_kind { UPLOAD_AUDIO, UPLOAD_IMAGE, UPLOAD_VIDEO };

/* The facts of one probed file. */
struct upload_media {
	enum upload_kind kind;
	char content_type[32]; /* "audio/mpeg", "image/png"... */
	int width, height;     /* pixels of an image or video, 0 for audio */
	long duration_ms;      /* of audio or video, 0 for an image */
};

/* Probes the file at path: 0, or -1 with err saying why it is no media uploads take. */
int upload_sniff(const char *path, struct upload_media *m, char *err, size_t errlen) WARN_UNUSED;
/* "audio", "image" or "video". */
const char *upload_sniff_kind_name(enum upload_kind k);

#endif
