/*
 * Cutting narration for speech vendors. A part is made of whole sentences
 * when they fit; a sentence longer than the limit is cut at its clauses,
 * then its words, and only as a last resort between two code points, so a
 * vendor never receives half a UTF-8 sequence.
 */
#include "narration.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "banned.h"

enum level { AT_SENTENCE, AT_CLAUSE, AT_SPACE, AT_CHAR };

struct parts {
	char **v;
	size_t n;
};

/* Length of the UTF-8 sequence starting at s (1 for an invalid byte). */
static size_t cp_len(const char *s)
{
	unsigned char b = (unsigned char)*s;
	size_t n = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
	for (size_t i = 1; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

static uint32_t cp_at(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	if (n == 1)
		return p[0];
	uint32_t cp = p[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

size_t narration_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s += cp_len(s))
		n++;
	return n;
}

static bool is_space(uint32_t cp)
{
	return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == '\v' || cp == '\f' || cp == 0xa0 ||
	       cp == 0x3000;
}

static bool is_cjk(uint32_t cp)
{
	return (cp >= 0x3040 && cp <= 0x30ff) || (cp >= 0x3400 && cp <= 0x9fff) || (cp >= 0xf900 && cp <= 0xfaff) ||
	       (cp >= 0xac00 && cp <= 0xd7af) || (cp >= 0x20000 && cp <= 0x323af);
}

/* Whether a cut may follow cp at this level. Full-width marks end a clause
 * or sentence by themselves; ASCII ones only before a space (so "3.5" and
 * "e.g.x" stay whole), which the caller checks. */
static bool ends(uint32_t cp, enum level lv, bool *needs_space)
{
	*needs_space = cp < 0x80 && cp != '\n';
	switch (lv) {
	case AT_SENTENCE:
		return strchr(".!?;", (int)(cp < 0x80 ? cp : 1)) || cp == 0x2026 || cp == 0x3002 || cp == 0xff01 ||
		       cp == 0xff1f || cp == 0xff1b || cp == '\n';
	case AT_CLAUSE:
		return strchr(",:", (int)(cp < 0x80 ? cp : 1)) || cp == 0xff0c || cp == 0x3001 || cp == 0xff1a ||
		       cp == 0x2014;
	case AT_SPACE: *needs_space = false; return is_space(cp);
	case AT_CHAR: *needs_space = false; return true;
	}
	return false;
}

/* Closing quotes and brackets stay with the sentence they close. */
static bool is_closer(uint32_t cp)
{
	return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == 0x201d || cp == 0x2019 || cp == 0x300d ||
	       cp == 0x300f || cp == 0xff09;
}

/* Adds s[0..len) trimmed, if anything is left. */
static void emit(struct parts *p, const char *s, size_t len)
{
	while (len && is_space(cp_at(s, cp_len(s)))) {
		size_t k = cp_len(s);
		s += k, len -= k;
	}
	while (len) {
		size_t k = 1;
		while (k < len && ((unsigned char)s[len - k] & 0xc0) == 0x80)
			k++;
		if (!is_space(cp_at(s + len - k, k)))
			break;
		len -= k;
	}
	if (!len)
		return;
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	p->v[p->n++] = xstrndup(s, len);
}

/* The byte length of the first unit of s[0..len) at level lv. */
static size_t unit_len(const char *s, size_t len, enum level lv)
{
	size_t i = 0;
	bool needs_space;
	while (i < len) {
		size_t k = cp_len(s + i);
		uint32_t cp = cp_at(s + i, k);
		i += k;
		if (!ends(cp, lv, &needs_space))
			continue;
		while (lv <= AT_CLAUSE && i < len && is_closer(cp_at(s + i, cp_len(s + i))))
			i += cp_len(s + i);
		if (!needs_space || i >= len || is_space(cp_at(s + i, cp_len(s + i))))
			return i;
	}
	return len;
}

static size_t chars_in(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i += cp_len(s + i))
		n++;
	return n;
}

/* Packs the units of s[0..len) at level lv into parts of at most max chars. */
static void split_level(struct parts *p, const char *s, size_t len, size_t max, enum level lv)
{
	size_t start = 0, end = 0;
	while (end < len) {
		size_t u = unit_len(s + end, len - end, lv);
		if (chars_in(s + start, end + u - start) <= max) {
			end += u;
			continue;
		}
		if (end > start)
			emit(p, s + start, end - start);
		start = end;
		if (chars_in(s + end, u) > max) {
			split_level(p, s + end, u, max, (enum level)(lv + 1));
			start = end = end + u;
		}
	}
	if (end > start)
		emit(p, s + start, end - start);
}

size_t narration_split(const char *text, size_t max_chars, char ***out)
{
	struct parts p = { 0 };
	if (max_chars < 1)
		max_chars = 1;
	split_level(&p, text, strlen(text), max_chars, AT_SENTENCE);
	*out = p.v;
	return p.n;
}

size_t narration_sentences(const char *text, char ***out)
{
	struct parts p = { 0 };
	size_t len = strlen(text);
	for (size_t i = 0; i < len;) {
		size_t u = unit_len(text + i, len - i, AT_SENTENCE);
		emit(&p, text + i, u);
		i += u;
	}
	*out = p.v;
	return p.n;
}

static bool is_vowel(char c)
{
	return strchr("aeiouyAEIOUY", c) && c;
}

/* Syllables of one Latin word: vowel groups, less a silent final e or -ed. */
static size_t word_syllables(const char *w, size_t len)
{
	size_t groups = 0;
	for (size_t i = 0; i < len; i++)
		if (is_vowel(w[i]) && (i == 0 || !is_vowel(w[i - 1])))
			groups++;
	if (groups > 1 && len > 2 && (w[len - 1] == 'e' || w[len - 1] == 'E') && !is_vowel(w[len - 2]) &&
	    w[len - 2] != 'l')
		groups--;
	else if (groups > 1 && len > 3 && !strncasecmp(w + len - 2, "ed", 2) && !strchr("tdTD", w[len - 3]))
		groups--;
	return groups ? groups : 1;
}

size_t narration_syllables(const char *s)
{
	size_t n = 0, visible = 0;
	while (*s) {
		size_t k = cp_len(s);
		uint32_t cp = cp_at(s, k);
		if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') {
			size_t w = 0;
			while (s[w] && (((s[w] | 0x20) >= 'a' && (s[w] | 0x20) <= 'z') || s[w] == '\''))
				w++;
			n += word_syllables(s, w);
			s += w;
			visible++;
			continue;
		}
		if (is_cjk(cp) || (cp >= '0' && cp <= '9') || (cp >= 0xc0 && cp < 0x2000))
			n++;
		if (!is_space(cp))
			visible++;
		s += k;
	}
	return n ? n : visible ? 1 : 0;
}

void narration_free(char **parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
	free(parts);
}
