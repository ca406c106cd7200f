/*
 * Storyboard splitting without a language model. A byte scanner finds
 * sentence ends in UTF-8 text (invalid bytes pass through as themselves), a
 * greedy pass packs a paragraph's sentences into shots of about eight seconds,
 * and a heap merges the cheapest neighbours until the shot cap holds, so a
 * long story costs O(n log n), never a rescan per merge.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "splitter.h"
#include "util.h"
#include "banned.h"

/*
 * Reading time is counted in units of 1/117 s so that both rates are exact
 * integers: a word at 2.6 words/s is 45 units, a CJK character at 4.5/s is 26.
 */
#define UNITS_PER_S 117
#define WORD_UNITS 45
#define CJK_UNITS 26
#define SHOT_TARGET_UNITS (8 * UNITS_PER_S)
#define MIN_SHOT_MS 2000
#define MAX_SHOT_MS 15000
#define PROMPT_TEXT_MAX 300
#define PROMPT_WORD_SLACK 60
#define DEFAULT_STYLE "storybook illustration"
#define PROMPT_SUFFIX ", cinematic still, detailed, soft light"
#define INVALID_CP 0xFFFD

struct sentence {
	size_t start, end;  /* byte range in the source, without surrounding space */
	int para;           /* paragraph number; a blank line starts a new one */
	uint64_t units;     /* estimated reading time */
	bool silent;        /* nothing to say and alone in its shot: left out */
};

struct sentence_list {
	struct sentence *v;
	size_t n, cap;
};

/* Consecutive sentences that make one shot; prev/next link the live ones while merging. */
struct group {
	size_t first, last; /* sentence indices, inclusive */
	uint64_t units;
	size_t prev, next;  /* neighbouring group, NO_GROUP at the ends */
	unsigned ver;       /* bumped whenever the group grows, to spot stale heap entries */
	bool dead;          /* absorbed by its left neighbour */
};
#define NO_GROUP SIZE_MAX

struct pair {
	uint64_t units;     /* the two groups' combined reading time */
	size_t left, right;
	unsigned lver, rver;
};

struct heap {
	struct pair *v;
	size_t n;
};

/* What a run of terminators and closing quotes looks like. */
struct cluster {
	const unsigned char *end;
	bool wide;          /* holds a full-width terminator: always a sentence end */
	bool lone_dot;      /* exactly one '.': could be an abbreviation */
	bool ellipsis;      /* "…" or "..": a pause that may not end the sentence */
};

/* Decodes one character; an invalid byte stands for itself, length 1. */
static size_t utf8_next(const unsigned char *p, const unsigned char *end, uint32_t *cp)
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
static size_t utf8_last(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t k = n - 1, steps = 0;

	while (k > 0 && steps < 3 && (s[k] & 0xC0) == 0x80)
		k--, steps++;
	if (utf8_next(s + k, s + n, cp) == n - k)
		return n - k;
	*cp = INVALID_CP;
	return 1;
}

static bool is_space_cp(uint32_t cp)
{
	return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0xA0 || cp == 0x3000 ||
	       cp == 0x2028 || cp == 0x2029;
}

/* Scripts written without spaces between words (Hangul is spaced, so not here). */
static bool is_cjk(uint32_t cp)
{
	return (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
	       (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFFEF) ||
	       (cp >= 0x20000 && cp <= 0x3FFFF);
}

static bool is_cjk_punct(uint32_t cp)
{
	if (cp >= 0x3005 && cp <= 0x3007)
		return false;   /* 々 〆 〇 are read aloud */
	return (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
	       (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
	       (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) ||
	       cp == 0x30FB;
}

/* Whether a non-CJK character is part of something spoken (letters, digits). */
static bool is_wordish(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
	return !(cp >= 0xA0 && cp <= 0xBF) && cp != 0xD7 && cp != 0xF7 &&
	       !(cp >= 0x2000 && cp <= 0x2BFF);
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
	case '"': case '\'': case ')': case ']': case '}': case 0xBB: case 0x2019:
	case 0x201D: case 0x3009: case 0x300B: case 0x300D: case 0x300F: case 0x3011:
	case 0x3015: case 0xFF02: case 0xFF07: case 0xFF09: case 0xFF3D: case 0xFF5D:
	case 0xFF63:
		return true;
	}
	return false;
}

static bool is_quote(uint32_t cp)
{
	return cp == '"' || cp == 0xAB || cp == 0xBB || (cp >= 0x201C && cp <= 0x201F) ||
	       (cp >= 0x300C && cp <= 0x300F) || cp == 0xFF02;
}

/* Where a prompt may end: trailing spaces and punctuation are cut off. */
static bool is_tail_punct(uint32_t cp)
{
	return cp == ' ' || cp == ',' || cp == ';' || cp == ':' || cp == '-' ||
	       cp == 0x2014 || cp == 0x3001 || cp == 0xFF0C || cp == 0xFF1A ||
	       cp == 0xFF1B || is_term(cp);
}

/* Hard-wrapped Chinese or Japanese must not gain spaces where lines were joined. */
static bool needs_space(uint32_t a, uint32_t b)
{
	return !((is_cjk(a) && b >= 0x80) || (is_cjk(b) && a >= 0x80));
}

static uint64_t count_units(const unsigned char *p, const unsigned char *end)
{
	uint64_t words = 0, cjk = 0;
	bool counted = false;   /* the current space-delimited token is already a word */
	uint32_t cp;

	while (p < end) {
		p += utf8_next(p, end, &cp);
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
static char *normalize(const unsigned char *p, const unsigned char *end)
{
	char *out = xmalloc((size_t)(end - p) + 1);
	size_t n = 0, len;
	uint32_t cp, prev = 0;
	bool gap = false;

	for (; p < end; p += len) {
		len = utf8_next(p, end, &cp);
		if (is_space_cp(cp)) {
			gap = true;
			continue;
		}
		if (gap && n > 0 && needs_space(prev, cp))
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
		"mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "mt", "vs",
		"e.g", "i.e", "u.s", "u.k", "u.s.a", "cf", "approx",
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
		return true;    /* an initial, as in "J. Smith" */
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
		len = utf8_next(p, end, &cp);
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
		p += utf8_next(p, end, &cp);
		if (!is_space_cp(cp))
			break;
	}
	return cp >= 'a' && cp <= 'z';
}

/* Whether the cluster at dot ends a sentence: not 3.14, Mr. Smith, "Hi!" she said, wait... no. */
static bool ends_sentence(const unsigned char *text, const unsigned char *dot,
			  const struct cluster *c, const unsigned char *end)
{
	uint32_t cp;

	if (c->wide)
		return true;
	if (c->end < end) {
		utf8_next(c->end, end, &cp);
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
		p += utf8_next(p, end, &cp);
		if (cp == '\n')
			return true;
		if (!is_space_cp(cp))
			return false;
	}
	return false;
}

static void push_sentence(struct sentence_list *l, const unsigned char *text,
			  const unsigned char *start, const unsigned char *end, int para)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct sentence){
		.start = (size_t)(start - text), .end = (size_t)(end - text),
		.para = para, .units = count_units(start, end),
	};
}

static void scan(const char *text, struct sentence_list *l)
{
	const unsigned char *s = (const unsigned char *)text, *end = s + strlen(text);
	const unsigned char *p = s, *start = NULL, *last = s;
	struct cluster c;
	int para = 0;
	uint32_t cp;
	size_t len;

	while (p < end) {
		len = utf8_next(p, end, &cp);
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

size_t splitter_sentences(const char *text, char ***out)
{
	struct sentence_list l = { 0 };
	const unsigned char *s = (const unsigned char *)text;
	size_t i;

	*out = NULL;
	if (!text)
		return 0;
	scan(text, &l);
	if (l.n)
		*out = xmalloc(l.n * sizeof(**out));
	for (i = 0; i < l.n; i++)
		(*out)[i] = normalize(s + l.v[i].start, s + l.v[i].end);
	free(l.v);
	return l.n;
}

/* A group with nothing to say ("* * *" and the like) is left out of the story. */
static void silence(struct sentence *s, const struct group *g)
{
	size_t i;

	for (i = g->first; i <= g->last; i++)
		s[i].silent = true;
}

/* Packs each paragraph's sentences greedily into shots of at most ~8 s. */
static size_t make_groups(struct sentence *s, size_t n, struct group *g)
{
	struct group *cur = NULL;
	size_t i, ng = 0;

	for (i = 0; i < n; i++) {
		if (cur && s[i].para == s[cur->last].para &&
		    cur->units + s[i].units <= SHOT_TARGET_UNITS) {
			cur->last = i;
			cur->units += s[i].units;
			continue;
		}
		if (!cur || cur->units > 0)
			cur = &g[ng++];
		else
			silence(s, cur);
		*cur = (struct group){ .first = i, .last = i, .units = s[i].units };
	}
	if (cur && cur->units == 0) {
		silence(s, cur);
		ng--;
	}
	return ng;
}

static bool pair_less(const struct pair *a, const struct pair *b)
{
	if (a->units != b->units)
		return a->units < b->units;
	return a->left < b->left;       /* group indices follow story order: earliest wins */
}

static void heap_push(struct heap *h, struct pair p)
{
	size_t i = h->n++, up;

	while (i > 0 && pair_less(&p, &h->v[up = (i - 1) / 2])) {
		h->v[i] = h->v[up];
		i = up;
	}
	h->v[i] = p;
}

static struct pair heap_pop(struct heap *h)
{
	struct pair top = h->v[0], last = h->v[--h->n];
	size_t i = 0, child;

	while ((child = 2 * i + 1) < h->n) {
		if (child + 1 < h->n && pair_less(&h->v[child + 1], &h->v[child]))
			child++;
		if (!pair_less(&h->v[child], &last))
			break;
		h->v[i] = h->v[child];
		i = child;
	}
	h->v[i] = last;
	return top;
}

static void push_pair(struct heap *h, const struct group *g, size_t left)
{
	size_t right;

	if (left == NO_GROUP || (right = g[left].next) == NO_GROUP)
		return;
	heap_push(h, (struct pair){ .units = g[left].units + g[right].units,
				    .left = left, .right = right,
				    .lver = g[left].ver, .rver = g[right].ver });
}

static bool pair_current(const struct group *g, const struct pair *p)
{
	return !g[p->left].dead && !g[p->right].dead && g[p->left].ver == p->lver &&
	       g[p->right].ver == p->rver;
}

/* Merges the adjacent pair that is shortest together until at most max groups live. */
static void merge_groups(struct group *g, size_t ng, size_t max)
{
	struct heap h = { .v = xmalloc(3 * ng * sizeof(*h.v)) };
	size_t i, live = ng;
	struct pair p;

	for (i = 0; i < ng; i++) {
		g[i].prev = i ? i - 1 : NO_GROUP;
		g[i].next = i + 1 < ng ? i + 1 : NO_GROUP;
	}
	for (i = 0; live > max && i + 1 < ng; i++)
		push_pair(&h, g, i);
	while (live > max) {
		p = heap_pop(&h);
		if (!pair_current(g, &p))
			continue;
		g[p.left].last = g[p.right].last;
		g[p.left].units = p.units;
		g[p.left].next = g[p.right].next;
		g[p.left].ver++;
		if (g[p.right].next != NO_GROUP)
			g[g[p.right].next].prev = p.left;
		g[p.right].dead = true;
		live--;
		push_pair(&h, g, g[p.left].prev);
		push_pair(&h, g, p.left);
	}
	free(h.v);
}

/* Joins the spoken sentences of a group as the source spells them. */
static char *narration_of(const struct sentence *s, char *const *norm, const struct group *g)
{
	size_t i, cap = 1, n = 0, len;
	const struct sentence *prev = NULL;
	uint32_t a, b;
	char *out;

	for (i = g->first; i <= g->last; i++)
		cap += strlen(norm[i]) + 1;
	out = xmalloc(cap);
	for (i = g->first; i <= g->last; i++) {
		if (s[i].silent)
			continue;
		len = strlen(norm[i]);
		if (prev && prev->end != s[i].start && n > 0 && len > 0) {
			utf8_last((const unsigned char *)out, n, &a);
			utf8_next((const unsigned char *)norm[i],
				  (const unsigned char *)norm[i] + len, &b);
			if (needs_space(a, b))
				out[n++] = ' ';
		}
		memcpy(out + n, norm[i], len);
		n += len;
		prev = &s[i];
	}
	out[n] = '\0';
	return out;
}

/* Cuts the prompt text to PROMPT_TEXT_MAX bytes, at a space when one is near. */
static size_t cut_prompt_text(const char *t, size_t n)
{
	size_t cut = PROMPT_TEXT_MAX, i;

	if (n <= PROMPT_TEXT_MAX)
		return n;
	for (i = 0; i < 3 && cut > 0 && ((unsigned char)t[cut] & 0xC0) == 0x80; i++)
		cut--;
	for (i = cut; i > cut - PROMPT_WORD_SLACK; i--)
		if (t[i] == ' ')
			return i;
	return cut;
}

static size_t strip_tail(const char *t, size_t n)
{
	uint32_t cp;
	size_t len;

	while (n > 0) {
		len = utf8_last((const unsigned char *)t, n, &cp);
		if (!is_tail_punct(cp))
			break;
		n -= len;
	}
	return n;
}

static char *prompt_of(const char *narration, const char *style)
{
	const unsigned char *p = (const unsigned char *)narration;
	const unsigned char *end = p + strlen(narration);
	char *text = xmalloc((size_t)(end - p) + 1), *prompt;
	size_t n = 0, len;
	uint32_t cp;

	for (; p < end; p += len) {
		len = utf8_next(p, end, &cp);
		if (is_quote(cp) || (cp == ' ' && (n == 0 || text[n - 1] == ' ')))
			continue;
		memcpy(text + n, p, len);
		n += len;
	}
	n = strip_tail(text, cut_prompt_text(text, n));
	text[n] = '\0';
	prompt = xasprintf("%s, %s" PROMPT_SUFFIX, style && *style ? style : DEFAULT_STYLE,
			   text);
	free(text);
	return prompt;
}

static int duration_of(uint64_t units)
{
	uint64_t ms = (units * 1000 + UNITS_PER_S / 2) / UNITS_PER_S;

	if (ms < MIN_SHOT_MS)
		return MIN_SHOT_MS;
	return ms > MAX_SHOT_MS ? MAX_SHOT_MS : (int)ms;
}

static void fill_shots(const char *text, const struct sentence_list *l,
		       const struct group *g, size_t ng, const char *style,
		       struct storyboard_draft *out)
{
	const unsigned char *s = (const unsigned char *)text;
	char **norm = xmalloc(l->n * sizeof(*norm));
	struct shot_draft *shot;
	size_t i;

	for (i = 0; i < l->n; i++)
		norm[i] = normalize(s + l->v[i].start, s + l->v[i].end);
	out->shots = xcalloc(ng, sizeof(*out->shots));
	for (i = 0; i < ng; i++) {
		if (g[i].dead)
			continue;
		shot = &out->shots[out->n_shots++];
		shot->narration = narration_of(l->v, norm, &g[i]);
		shot->prompt = prompt_of(shot->narration, style);
		shot->duration_ms = duration_of(g[i].units);
	}
	for (i = 0; i < l->n; i++)
		free(norm[i]);
	free(norm);
}

int splitter_split(const char *text, int max_shots, const char *style,
		   struct storyboard_draft *out, char *err, size_t errlen)
{
	struct sentence_list l = { 0 };
	struct group *g;
	size_t ng;

	memset(out, 0, sizeof(*out));
	if (max_shots < 1)
		return errorf(err, errlen, "max_shots must be at least 1, got %d", max_shots);
	if (text)
		scan(text, &l);
	g = xmalloc((l.n ? l.n : 1) * sizeof(*g));
	ng = make_groups(l.v, l.n, g);
	if (ng == 0) {
		free(g);
		free(l.v);
		return errorf(err, errlen, "text has nothing to narrate");
	}
	merge_groups(g, ng, (size_t)max_shots);
	fill_shots(text, &l, g, ng, style, out);
	free(g);
	free(l.v);
	return 0;
}

int splitter_reading_ms(const char *text)
{
	return duration_of(count_units((const unsigned char *)text, (const unsigned char *)text + strlen(text)));
}

char *splitter_prompt(const char *description, const char *style)
{
	return prompt_of(description, style);
}

void splitter_release(struct storyboard_draft *sb)
{
	size_t i;

	for (i = 0; i < sb->n_shots; i++) {
		free(sb->shots[i].narration);
		free(sb->shots[i].prompt);
		free(sb->shots[i].speaker);
	}
	free(sb->shots);
	sb->shots = NULL;
	sb->n_shots = 0;
}
