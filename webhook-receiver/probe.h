/*
 * Probing a downloaded vendor output with libavformat before it is stored:
 * only local files (protocol_whitelist=file), only still-image and plain
 * video container demuxers (no playlists, no concat, nothing that opens
 * other files or URLs), and the picture's size and the clip's length capped.
 */
#ifndef REEL_PROBE_H
#define REEL_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct probe_info {
	const char *ext;  /* "png", "jpg", "webp", "mp4", "webm" */
	const char *mime; /* its content type */
	int width, height;
	long duration_ms; /* 0 for images */
	bool video;
};

/* Probes path; video says whether a clip (else a still image) is expected.
 * 0 with info, or -1 with a reason a user can read. */
int probe_media(const char *path, bool video, long max_side, long max_ms, struct probe_info *info, char *err,
		size_t errlen) WARN_UNUSED;

#endif
