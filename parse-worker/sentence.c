/*
 * Sentence scanning for the offline splitter: a byte scanner finds sentence
 * ends in UTF-8 text (English, Chinese and Japanese punctuation; invalid bytes
 * pass through as themselves), telling abbreviations, initials and ellipses
 * from real ends, and estimates each sentence's reading time.
 */
#include "sentence.h"

#include <string.h>

#include "banned.h"

#define WORD_UNITS 45
#define CJK_UNITS 26
#define INVALID_CP 0xFFFD

/* What a run of terminators and closing quotes looks like. */
struct cluster {
	const unsigned char *end;
	bool wide;     /* holds a full-width terminator: always a sentence end */
	bool lone_dot; /* exactly one '.': could be an abbreviation */
	bool ellipsis; /* "…" or "..": a pause that may not end the sentence */
};

/* Decodes one character; an invalid byte stands for itself, length 1. */
size_t sentence_utf8_next(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
	unsigned char b = p[0];
	size_t len, i;
	uint32_t c;

	*cp = b;
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		len = 2, c = b & 0x1F;
	else if (b >= 0xE0 && b <= 0xEF)
		len = 3, c = b & 0x0F;
	else if (b >= 0xF0 && b <= 0xF4)
		len = 4, c = b & 0x07;
	else
		goto invalid;
	if ((size_t)(end - p) < len)
		goto invalid;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			goto invalid;
		c = (c << 6) | (p[i] & 0x3F);
	}
	*cp = c;
	return len;
invalid:
	*cp = INVALID_CP;
	return 1;
}

/* The last character of s[0..n); an undecodable tail counts as invalid. */
size_t sentence_utf8_last(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t k = n - 1, steps = 0;

	while (k > 0 && steps < 3 && (s[k] & 0xC0) == 0x80)
		k--, steps++;
	if (sentence_utf8_next(s + k, s + n, cp) == n - k)
		return n - k;
	*cp = INVALID_CP;
	return 1;
}

static bool is_space_cp(uint32_t cp)
{
	return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0xA0 || cp == 0x3000 || cp == 0x2028 || cp == 0x2029;
}

/* Scripts written without spaces between words (Hangul is spaced, so not here). */
static bool is_cjk(uint32_t cp)
{
	return (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
	       (cp >= 0xFF00 && cp <= 0xFFEF) || (cp >= 0x20000 && cp <= 0x3FFFF);
}

static bool is_cjk_punct(uint32_t cp)
{
	if (cp >= 0x3005 && cp <= 0x3007)
		return false; /* 々 〆 〇 are read aloud */
	return (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF01 && cp <= 0xFF0F) ||
	       (cp >= 0xFF1A && cp <= 0xFF20) || (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) ||
	       cp == 0x30FB;
}

/* Whether a non-CJK character is part of something spoken (letters, digits). */
static bool is_wordish(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
	return !(cp >= 0xA0 && cp <= 0xBF) && cp != 0xD7 && cp != 0xF7 && !(cp >= 0x2000 && cp <= 0x2BFF);
}

static bool is_wide_term(uint32_t cp)
{
	return cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F || cp == 0xFF61;
}

static bool is_term(uint32_t cp)
{
	return cp == '.' || cp == '!' || cp == '?' || cp == 0x2026 || is_wide_term(cp);
}

static bool is_closer(uint32_t cp)
{
	switch (cp) {
	case '"':
	case '\'':
	case ')':
	case ']':
	case '}':
	case 0xBB:
	case 0x2019:
	case 0x201D:
	case 0x3009:
	case 0x300B:
	case 0x300D:
	case 0x300F:
	case 0x3011:
	case 0x3015:
	case 0xFF02:
	case 0xFF07:
	case 0xFF09:
	case 0xFF3D:
	case 0xFF5D:
	case 0xFF63: return true;
	}
	return false;
}

bool sentence_is_quote(uint32_t cp)
{
	return cp == '"' || cp == 0xAB || cp == 0xBB || (cp >= 0x201C && cp <= 0x201F) ||
	       (cp >= 0x300C && cp <= 0x300F) || cp == 0xFF02;
}

/* Where a prompt may end: trailing spaces and punctuation are cut off. */
bool sentence_is_tail_punct(uint32_t cp)
{
	return cp == ' ' || cp == ',' || cp == ';' || cp == ':' || cp == '-' || cp == 0x2014 || cp == 0x3001 ||
	       cp == 0xFF0C || cp == 0xFF1A || cp == 0xFF1B || is_term(cp);
}

/* Hard-wrapped Chinese or Japanese must not gain spaces where lines were joined. */
bool sentence_needs_space(uint32_t a, uint32_t b)
{
	return !((is_cjk(a) && b >= 0x80) || (is_cjk(b) && a >= 0x80));
}

uint64_t sentence_units(const unsigned char *p, const unsigned char *end)
{
	uint64_t words = 0, cjk = 0;
	bool counted = false; /* the current space-delimited token is already a word */
	uint32_t cp;

	while (p < end) {
		p += sentence_utf8_next(p, end, &cp);
		if (is_cjk(cp)) {
			cjk += !is_cjk_punct(cp);
			counted = false;
		} else if (is_space_cp(cp)) {
			counted = false;
		} else if (is_wordish(cp) && !counted) {
			words++;
			counted = true;
		}
	}
	return words * WORD_UNITS + cjk * CJK_UNITS;
}

/* Copies [p, end) with each run of whitespace made one space or, between CJK text, none. */
char *sentence_normalize(const unsigned char *p, const unsigned char *end)
{
	char *out = xmalloc((size_t)(end - p) + 1);
	size_t n = 0, len;
	uint32_t cp, prev = 0;
	bool gap = false;

	for (; p < end; p += len) {
		len = sentence_utf8_next(p, end, &cp);
		if (is_space_cp(cp)) {
			gap = true;
			continue;
		}
		if (gap && n > 0 && sentence_needs_space(prev, cp))
			out[n++] = ' ';
		gap = false;
		memcpy(out + n, p, len);
		n += len;
		prev = cp;
	}
	out[n] = '\0';
	return out;
}

/* Titles and initials that end in a dot without ending the sentence. */
static bool is_abbreviation(const unsigned char *text, const unsigned char *dot)
{
	static const char *const abbrevs[] = {
		"mr", "mrs", "ms",  "dr",  "st",  "jr",    "sr", "prof",   "mt",
		"vs", "e.g", "i.e", "u.s", "u.k", "u.s.a", "cf", "approx",
	};
	const unsigned char *b = dot;
	char word[8];
	size_t n, i;

	while (b > text && dot - b < (ptrdiff_t)sizeof(word) &&
	       (b[-1] == '.' || ((b[-1] | 0x20) >= 'a' && (b[-1] | 0x20) <= 'z')))
		b--;
	n = (size_t)(dot - b);
	if (n == 0 || n >= sizeof(word) || (b > text && b[-1] >= 0x80))
		return false;
	if (n == 1 && b[0] >= 'A' && b[0] <= 'Z' && b[0] != 'I')
		return true; /* an initial, as in "J. Smith" */
	for (i = 0; i < n; i++)
		word[i] = (char)(b[i] | 0x20);
	word[n] = '\0';
	for (i = 0; i < ARRAY_SIZE(abbrevs); i++)
		if (!strcmp(word, abbrevs[i]))
			return true;
	return false;
}

/* Reads terminators and the closing quotes or brackets that belong with them. */
static struct cluster read_cluster(const unsigned char *p, const unsigned char *end)
{
	struct cluster c = { .end = p };
	int dots = 0, others = 0;
	uint32_t cp;
	size_t len;

	for (; p < end; p += len) {
		len = sentence_utf8_next(p, end, &cp);
		if (!is_term(cp) && !is_closer(cp))
			break;
		c.wide |= is_wide_term(cp);
		c.ellipsis |= cp == 0x2026;
		dots += cp == '.';
		others += is_term(cp) && cp != '.';
	}
	c.end = p;
	c.lone_dot = dots == 1 && others == 0;
	c.ellipsis |= dots > 1;
	return c;
}

static bool lowercase_follows(const unsigned char *p, const unsigned char *end)
{
	uint32_t cp = 0;

	while (p < end) {
		p += sentence_utf8_next(p, end, &cp);
		if (!is_space_cp(cp))
			break;
	}
	return cp >= 'a' && cp <= 'z';
}

/* Whether the cluster at dot ends a sentence: not 3.14, Mr. Smith, "Hi!" she said, wait... no. */
static bool ends_sentence(const unsigned char *text, const unsigned char *dot, const struct cluster *c,
			  const unsigned char *end)
{
	uint32_t cp;

	if (c->wide)
		return true;
	if (c->end < end) {
		sentence_utf8_next(c->end, end, &cp);
		if (!is_space_cp(cp))
			return cp >= 0x80 && !c->ellipsis;
	}
	if (c->lone_dot && is_abbreviation(text, dot))
		return false;
	return !lowercase_follows(c->end, end);
}

/* Whether the newline just read is followed by a blank line (a paragraph break). */
static bool blank_line_follows(const unsigned char *p, const unsigned char *end)
{
	uint32_t cp;

	while (p < end) {
		p += sentence_utf8_next(p, end, &cp);
		if (cp == '\n')
			return true;
		if (!is_space_cp(cp))
			return false;
	}
	return false;
}

static void push_sentence(struct sentence_list *l, const unsigned char *text, const unsigned char *start,
			  const unsigned char *end, int para)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct sentence){
		.start = (size_t)(start - text),
		.end = (size_t)(end - text),
		.para = para,
		.units = sentence_units(start, end),
	};
}

void sentence_scan(const char *text, struct sentence_list *l)
{
	const unsigned char *s = (const unsigned char *)text, *end = s + strlen(text);
	const unsigned char *p = s, *start = NULL, *last = s;
	struct cluster c;
	int para = 0;
	uint32_t cp;
	size_t len;

	while (p < end) {
		len = sentence_utf8_next(p, end, &cp);
		if (is_space_cp(cp)) {
			if (cp == '\n' && blank_line_follows(p + len, end)) {
				if (start)
					push_sentence(l, s, start, last, para);
				start = NULL;
				para++;
			}
			p += len;
			continue;
		}
		if (!start)
			start = p;
		if (!is_term(cp)) {
			p = last = p + len;
			continue;
		}
		c = read_cluster(p, end);
		if (ends_sentence(s, p, &c, end)) {
			push_sentence(l, s, start, c.end, para);
			start = NULL;
		}
		p = last = c.end;
	}
	if (start)
		push_sentence(l, s, start, last, para);
}
