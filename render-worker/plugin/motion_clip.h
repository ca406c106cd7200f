/*
 * The offline provider's image-to-video step: a short H.264 MP4 clip made
 * from a shot's keyframe with a slow camera move (a gentle zoom towards the
 * centre), at the job's frame size and frame rate, as long as the shot's
 * narration — so the offline pipeline produces clips just as a vendor would.
 */
#ifndef REEL_MOTION_CLIP_H
#define REEL_MOTION_CLIP_H

#include <stddef.h>

#include "util.h"

/* Shortest and longest clip motion_clip_make makes, in milliseconds. */
#define MOTION_CLIP_MIN_MS 1000
#define MOTION_CLIP_MAX_MS 60000

/* Encodes a clip of width x height (even, KEYFRAME_MIN_SIDE..KEYFRAME_MAX_SIDE)
 * at fps (1..60) lasting duration_ms (clamped to MOTION_CLIP_MIN_MS..MAX_MS)
 * from the still image at still_path, written to out_path as an MP4 with one
 * H.264 stream. Both paths must be plain (letters, digits, "/._+-").
 * Thread-safe. 0 or -1 with err. */
int motion_clip_make(const char *still_path, int width, int height, int fps, long duration_ms, const char *out_path,
		     char *err, size_t errlen) WARN_UNUSED;

#endif
