/*
 * Mono 16-bit sample buffers inside the tts-worker plugin: resampling to the
 * pipeline's one rate (48 kHz, what merge-worker lays on its track), trimming
 * silence, joining parts without clicks, and writing WAV files.
 */
#ifndef REEL_TTS_PCM_H
#define REEL_TTS_PCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define PCM_RATE 48000
#define PCM_PAD_MS 50   /* silence kept around trimmed speech */
#define PCM_XFADE_MS 10 /* overlap of two joined parts */

/* Owns s; pcm_release frees it. */
struct pcm {
	int16_t *s;
	size_t n, cap;
	size_t limit;  /* samples at most (0: no limit) */
	bool overflow; /* an append stopped at the limit */
};

void pcm_release(struct pcm *p);
/* Appends n samples; false (and overflow set) when that would pass limit. */
bool pcm_append(struct pcm *p, const int16_t *s, size_t n);
/* Keeps the audible part framed by up to pad_ms of the original on each side
 * (exactly pad_ms, adding silence, when exact_pad). *shift is the number of
 * samples the old start moved by (negative: samples were cut). -1 if nothing
 * is audible. */
int pcm_trim(struct pcm *p, int rate, int pad_ms, bool exact_pad, int64_t *shift);
/* Converts p (mono at in_rate) to PCM_RATE in place. 0 or -1 with err. */
int pcm_resample(struct pcm *p, int in_rate, char *err, size_t errlen) WARN_UNUSED;
/* Appends b to a, the last PCM_XFADE_MS of a fading into the first of b;
 * returns the offset in a where b's first sample now lies. */
size_t pcm_join(struct pcm *a, const struct pcm *b);
/* Writes a 16-bit mono WAV at PCM_RATE. 0 or -1 with err. */
int pcm_write_wav(const char *path, const struct pcm *p, char *err, size_t errlen) WARN_UNUSED;
/* Milliseconds of n samples at PCM_RATE, rounded. */
int64_t pcm_ms(size_t n);

#endif
