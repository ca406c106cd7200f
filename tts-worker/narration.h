/*
 * Narration text for speech vendors: cut at sentence boundaries into parts
 * that fit a vendor's limit per request, and the sentences themselves for
 * timing estimates. Limits count Unicode code points, as vendors do.
 */
#ifndef REEL_NARRATION_H
#define REEL_NARRATION_H

#include <stddef.h>

#include "util.h"

/* The parts of text, each at most max_chars code points, cut at sentence
 * ends where possible, then at clause marks, then at spaces, then anywhere
 * between code points. Whitespace at part edges is dropped. Returns the
 * count; *out is a new array of new strings the caller frees (both). */
size_t narration_split(const char *text, size_t max_chars, char ***out);
/* The sentences of text (ends: . ! ? ; … and their CJK forms, line breaks).
 * Same ownership. */
size_t narration_sentences(const char *text, char ***out);
/* Code points in s (an invalid byte counts as one). */
size_t narration_chars(const char *s);
/* Spoken syllables, roughly: vowel groups of each Latin word, one per CJK
 * character or Hangul block, one per digit. At least 1 for any non-blank text.
 */
size_t narration_syllables(const char *s);
/* Frees an array narration_split or narration_sentences returned. */
void narration_free(char **parts, size_t n);

#endif
