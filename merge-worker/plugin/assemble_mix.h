/*
 * The assembler's soundtrack mix (libavfilter: ducking, fades, loudness
 * normalisation). Internal to the merge plugin.
 */
#ifndef REEL_ASSEMBLE_MIX_H
#define REEL_ASSEMBLE_MIX_H

#include <stddef.h>
#include <stdint.h>

#include "assemble_spec.h"
#include "assemble_pcm.h"
#include "util.h"

/* The whole soundtrack: narration of shot k from starts[k] for spans[k]
 * samples, music looped and ducked, faded out, normalised to -14 LUFS. */
int assemble__mix(const struct assemble_spec *sp, const int64_t *starts, int64_t total, struct assemble__pcm *out,
		  double *loudness, char *err, size_t errlen) WARN_UNUSED;
/* Integrated loudness of pcm (ebur128), LUFS; -70 or lower for silence. */
int assemble__loudness(const struct assemble__pcm *pcm, double *lufs, char *err, size_t errlen) WARN_UNUSED;

#endif
