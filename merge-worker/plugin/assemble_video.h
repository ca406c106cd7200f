/*
 * The assembler's video: H.264 segments, crossfades between pictures, and
 * the encoder loop every stream shares. Internal to the merge plugin.
 */
#ifndef REEL_ASSEMBLE_VIDEO_H
#define REEL_ASSEMBLE_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#include "assemble_spec.h"
#include "util.h"

struct AVFormatContext;
struct AVCodecContext;
struct AVStream;
struct AVFrame;

/* Sends frame (NULL flushes) to enc and writes every packet it yields to st. */
int assemble__encode(struct AVFormatContext *oc, struct AVCodecContext *enc, struct AVStream *st,
		     const struct AVFrame *frame, char *err, size_t errlen) WARN_UNUSED;

/* A video-only H.264 segment being written. */
struct assemble__segment;
struct assemble__segment *assemble__segment_new(const struct assemble_spec *sp, const char *path, char *err,
						size_t errlen);
/* Appends a frame (its pts is set here). */
int assemble__segment_add(struct assemble__segment *s, const struct AVFrame *f, char *err, size_t errlen) WARN_UNUSED;
/* Finishes the file; 0 or -1 (the file is removed on -1 or when failed). */
int assemble__segment_close(struct assemble__segment *s, int failed, char *err, size_t errlen);
/* Frames appended so far. */
int64_t assemble__segment_frames(const struct assemble__segment *s);

/* Crossfades n frames pairwise from two pictures with an xfade kind. */
struct assemble__xfade;
struct assemble__xfade *assemble__xfade_new(const struct assemble_spec *sp, int n, char *err, size_t errlen);
/* Pushes frames a and b (NULL, NULL at the end) and appends what comes out to seg. */
int assemble__xfade_push(struct assemble__xfade *x, const struct AVFrame *a, const struct AVFrame *b,
			 struct assemble__segment *seg, char *err, size_t errlen) WARN_UNUSED;
void assemble__xfade_free(struct assemble__xfade *x);

#endif
