/*
 * Narration timings for subtitles: what is said when, as stored in
 * shots.timings ([{"start_ms","end_ms","text"}], relative to the start of the
 * shot's audio). Vendors that return alignments give word timings; for the
 * others sentences are placed by their share of the spoken syllables.
 */
#ifndef REEL_TIMING_H
#define REEL_TIMING_H

#include <stddef.h>
#include <stdint.h>

#include "tts.h"

/* A growing list of timings; owns its entries. */
struct timing_list {
	struct tts_timing *v;
	size_t n;
};

/* Appends text spoken from start_ms to end_ms (copied). */
void timing_add(struct timing_list *l, int64_t start_ms, int64_t end_ms, const char *text, size_t len);
/* Sentence timings of text spoken from start_ms for duration_ms: each sentence
 * gets a share proportional to its syllables plus a pause after it. */
void timing_estimate(struct timing_list *l, const char *text, int64_t start_ms, int64_t duration_ms);
/* Appends words shifted by shift_ms, clamped to [0, limit_ms]. */
void timing_shift(struct timing_list *l, const struct tts_timing *words, size_t n, int64_t shift_ms, int64_t limit_ms);
/* The JSON array text for shots.timings; the caller frees. */
char *timing_json(const struct timing_list *l);
void timing_release(struct timing_list *l);
/* Frees n timings and the array. */
void timing_free(struct tts_timing *v, size_t n);

#endif
