/*
 * The assembler's audio in and out: narration and music decoded into PCM, and
 * the output's AAC track encoded from PCM. Internal to the merge plugin.
 */
#ifndef REEL_ASSEMBLE_AUDIO_H
#define REEL_ASSEMBLE_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "assemble_spec.h"
#include "assemble_pcm.h"
#include "util.h"

struct AVFormatContext;

/* Narration of shot k laid from starts[k] to starts[k+1] (trimmed, padded)
 * into voice, and the music looped to the same length (none: music.n = 0). */
int assemble__voice_and_music(const struct assemble_spec *sp, const int64_t *starts, int64_t total,
			      struct assemble__pcm *voice, struct assemble__pcm *music, char *err,
			      size_t errlen) WARN_UNUSED;
/* The AAC track of the output, encoded from a pcm buffer as the video advances. */
struct assemble__aac;
struct assemble__aac *assemble__aac_new(struct AVFormatContext *oc, char *err, size_t errlen);
/* Encodes pcm up to sample `until` (clamped to pcm->n). */
int assemble__aac_write(struct assemble__aac *a, const struct assemble__pcm *pcm, int64_t until, char *err,
			size_t errlen) WARN_UNUSED;
int assemble__aac_finish(struct assemble__aac *a, const struct assemble__pcm *pcm, char *err,
			 size_t errlen) WARN_UNUSED;
void assemble__aac_free(struct assemble__aac *a);

#endif
