/*
 * Builds the finished MP4 in-process with FFmpeg's libraries: each shot's
 * keyframe held for the shot's span with a slow zoom, its narration laid
 * under it sample-exactly, H.264 + AAC in a fast-start MP4.
 */
#ifndef REEL_ASSEMBLE_H
#define REEL_ASSEMBLE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct assemble_shot {
	const char *image_path; /* keyframe still (JPEG, PNG, anything FFmpeg decodes, any size) */
	const char *audio_path; /* narration (WAV or anything libavformat reads); NULL = silence */
	int64_t duration_ms;    /* the shot's span; narration is padded with silence or trimmed to it */
};

struct assemble_spec {
	const struct assemble_shot *shots;
	size_t n_shots;
	int width, height;    /* output frame, even, 16..8192, e.g. 1080x1920 */
	int fps;              /* 1..120, e.g. 25 */
	const char *preset;   /* libx264 preset, NULL = "veryfast" */
	int crf;              /* 1..51, 0 = 23 */
	const char *out_path; /* written in place and removed on failure; callers use a temp name */
	const volatile int *cancel;                   /* optional: nonzero fails soon with "canceled" */
	void (*progress)(void *arg, double fraction); /* optional; called on the encoding thread */
	void *progress_arg;
};

/*
 * Encodes spec into spec->out_path. Blocking and CPU-heavy: run it on the
 * thread pool; several calls may run at once. Shot k occupies exactly
 * [sum of earlier durations, + its own) and the file lasts the sum of the
 * durations (video rounded to whole frames). spec and its strings are only
 * borrowed for the call. 0, or -1 with err naming the offending file or
 * setting ("canceled" when spec->cancel stopped it).
 */
int assemble_mp4(const struct assemble_spec *spec, char *err, size_t errlen) WARN_UNUSED;

/* Routes FFmpeg's own warnings into log_* instead of raw stderr; call once at
 * start, before any thread encodes (it sets FFmpeg's process-wide callback). */
void assemble_init(void);

/* ---- internal to merge-worker/assemble*.c ---- */

#define ASSEMBLE__RATE 48000 /* output audio sample rate */

struct AVFormatContext;
struct AVCodecContext;
struct AVStream;
struct AVFrame;
/* The audio track being written: AAC encoder, a partly filled frame, and the
 * decoder and resampler of the current shot's narration. */
struct assemble__audio;

/* Sends frame (NULL flushes) to enc and writes every packet it yields to st. */
int assemble__encode(struct AVFormatContext *oc, struct AVCodecContext *enc, struct AVStream *st,
		     const struct AVFrame *frame, char *err, size_t errlen) WARN_UNUSED;

/* Adds the AAC stream to oc (before its header is written). */
struct assemble__audio *assemble__audio_new(struct AVFormatContext *oc, char *err, size_t errlen);
/* Starts the next shot's narration at the track's current end; NULL = silence. */
int assemble__audio_begin_shot(struct assemble__audio *a, const char *path, char *err,
			       size_t errlen) WARN_UNUSED;
/* Extends the track to `until` samples with narration, then silence. */
int assemble__audio_fill(struct assemble__audio *a, int64_t until, char *err,
			 size_t errlen) WARN_UNUSED;
/* Encodes the last partial frame and drains the encoder. */
int assemble__audio_finish(struct assemble__audio *a, char *err, size_t errlen) WARN_UNUSED;
void assemble__audio_free(struct assemble__audio *a);

#endif
