/*
 * Stereo float audio at ASSEMBLE__RATE held in memory, as the assembler mixes
 * it, and the bundled music tracks it synthesises. Internal to the merge plugin.
 */
#ifndef REEL_ASSEMBLE_PCM_H
#define REEL_ASSEMBLE_PCM_H

#include <stdint.h>

#define ASSEMBLE__RATE 48000 /* output audio sample rate */

/* Stereo float audio held in memory. */
struct assemble__pcm {
	float *ch[2];
	int64_t n; /* samples per channel */
};
void assemble__pcm_alloc(struct assemble__pcm *p, int64_t n);
void assemble__pcm_release(struct assemble__pcm *p);

/* Bundled track name ("calm", "bright", "pulse") synthesised into out, n samples; -1 when name is not one. */
int assemble__pcm_track(const char *name, struct assemble__pcm *out, int64_t n);

#endif
