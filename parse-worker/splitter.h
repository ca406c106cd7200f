/*
 * The offline storyboard splitter: cuts a story into sentences (English,
 * Chinese, Japanese punctuation), groups them into shots of about eight
 * seconds of narration, and derives an image prompt for each. Pure logic: no
 * I/O, no network, the same answer for the same input.
 */
#ifndef REEL_SPLITTER_H
#define REEL_SPLITTER_H

#include <stddef.h>

#include "util.h"

struct shot_draft {
	char *narration; /* the sentences this shot narrates, as in the source (trimmed) */
	char *prompt;    /* visual prompt for an image model */
	char *speaker;   /* who says the narration, NULL for the narrator */
	int duration_ms; /* estimate from the narration, 2000..15000 */
};

/* Owns its shots and their strings; splitter_release() frees them. */
struct storyboard_draft {
	struct shot_draft *shots;
	size_t n_shots;
};

/*
 * Splits text into shots; a blank line always ends a shot. max_shots >= 1
 * caps the count by merging the neighbours that are shortest together.
 * style may be NULL ("storybook illustration"); it begins every prompt.
 * 0, or -1 with err (out left empty) when there is nothing to narrate.
 */
int splitter_split(const char *text, int max_shots, const char *style, struct storyboard_draft *out, char *err,
		   size_t errlen) WARN_UNUSED;
/* The narration's reading time in ms, clamped to 2000..15000. */
int splitter_reading_ms(const char *text);
/* An image prompt from a description: style (NULL for the default) first,
 * quotes and trailing punctuation dropped, cut near 300 bytes. The caller frees. */
char *splitter_prompt(const char *description, const char *style);
/* Frees what splitter_split() filled in and empties sb; safe on an empty one. */
void splitter_release(struct storyboard_draft *sb);

/*
 * Exposed for tests: the sentences of text with whitespace normalised. Returns
 * the count; *out is a new array of new strings (NULL when the count is 0)
 * that the caller frees, strings and array.
 */
size_t splitter_sentences(const char *text, char ***out);

#endif
