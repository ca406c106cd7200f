/*
 * Sentences of UTF-8 story text: where they end, how long they take to read,
 * and the character classes the splitter's prompts and narrations need.
 * Pure logic, no I/O.
 */
#ifndef REEL_SENTENCE_H
#define REEL_SENTENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/*
 * Reading time is counted in units of 1/117 s so that both rates are exact
 * integers: a word at 2.6 words/s is 45 units, a CJK character at 4.5/s is 26.
 */
#define SENTENCE_UNITS_PER_S 117

struct sentence {
	size_t start, end; /* byte range in the source, without surrounding space */
	int para;          /* paragraph number; a blank line starts a new one */
	uint64_t units;    /* estimated reading time */
	bool silent;       /* nothing to say and alone in its shot: left out */
};

/* Owns v (free it). */
struct sentence_list {
	struct sentence *v;
	size_t n, cap;
};

/* Appends the sentences of text to l; a blank line starts a new paragraph. */
void sentence_scan(const char *text, struct sentence_list *l);
/* The reading time of [p, end) in units (SENTENCE_UNITS_PER_S a second). */
uint64_t sentence_units(const unsigned char *p, const unsigned char *end);
/* Copies [p, end) with each run of whitespace made one space or, between CJK
 * text, none. The caller frees. */
char *sentence_normalize(const unsigned char *p, const unsigned char *end);
/* Decodes one character at p; an invalid byte stands for itself, length 1. */
size_t sentence_utf8_next(const unsigned char *p, const unsigned char *end, uint32_t *cp);
/* Decodes the last character of s[0..n); returns its length. */
size_t sentence_utf8_last(const unsigned char *s, size_t n, uint32_t *cp);
/* Whether joining text ending in a with text starting with b needs a space
 * (hard-wrapped Chinese or Japanese must not gain spaces). */
bool sentence_needs_space(uint32_t a, uint32_t b);
/* Quotation marks, which prompts drop. */
bool sentence_is_quote(uint32_t cp);
/* Punctuation a prompt does not end with. */
bool sentence_is_tail_punct(uint32_t cp);

#endif
