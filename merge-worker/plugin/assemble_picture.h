/*
 * A shot's pictures frame by frame: its still's camera move or its clip.
 * Internal to the merge plugin.
 */
#ifndef REEL_ASSEMBLE_PICTURE_H
#define REEL_ASSEMBLE_PICTURE_H

#include <stddef.h>
#include <stdint.h>

#include "assemble_spec.h"

struct AVFrame;

/* A shot's pictures at the output size, camera move or clip, subtitles burned. */
struct assemble__picture;
struct assemble__picture *assemble__picture_new(const struct assemble_spec *sp, size_t k, int64_t n_frames,
						const char *ass_path, char *err, size_t errlen);
/* Frame i of the shot (clamped into the shot); i never goes backwards. The
 * frame stays the picture's, valid until the next call. */
const struct AVFrame *assemble__picture_frame(struct assemble__picture *p, int64_t i, char *err, size_t errlen);
void assemble__picture_free(struct assemble__picture *p);

#endif
