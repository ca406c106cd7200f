/*
 * Media facts shared by the gateway (validation) and the workers: the output
 * frame for an aspect ratio and resolution.
 */
#ifndef REEL_MEDIA_H
#define REEL_MEDIA_H

#include "util.h"

/* Frame size for aspect ("9:16", "16:9", "1:1", "4:5"; NULL = 9:16) and
 * resolution ("720p", "1080p"; NULL = 1080p): the short side is 720 or 1080.
 * -1 when either is unknown. */
int media_frame_size(const char *aspect, const char *resolution, int *width, int *height) WARN_UNUSED;
/* Frames per second of the merged video, and so of the offline provider's clips. */
#define MEDIA_FPS 25
/* The bundled music tracks options.music may name (merge-worker synthesises them), NULL-terminated. */
extern const char *const media_music_tracks[];

#endif
