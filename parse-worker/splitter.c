/*
 * Storyboard splitting without a language model. A byte scanner (sentence.c)
 * finds sentence ends in UTF-8 text (invalid bytes pass through as themselves), a
 * greedy pass packs a paragraph's sentences into shots of about eight seconds,
 * and a heap merges the cheapest neighbours until the shot cap holds, so a
 * long story costs O(n log n), never a rescan per merge.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "sentence.h"
#include "splitter.h"
#include "util.h"
#include "banned.h"

/* Reading time in sentence.h's units. */
#define UNITS_PER_S SENTENCE_UNITS_PER_S
#define SHOT_TARGET_UNITS (8 * UNITS_PER_S)
#define MIN_SHOT_MS 2000
#define MAX_SHOT_MS 15000
#define PROMPT_TEXT_MAX 300
#define PROMPT_WORD_SLACK 60
#define DEFAULT_STYLE "storybook illustration"
#define PROMPT_SUFFIX ", cinematic still, detailed, soft light"

/* Consecutive sentences that make one shot; prev/next link the live ones while merging. */
struct group {
	size_t first, last; /* sentence indices, inclusive */
	uint64_t units;
	size_t prev, next; /* neighbouring group, NO_GROUP at the ends */
	unsigned ver;      /* bumped whenever the group grows, to spot stale heap entries */
	bool dead;         /* absorbed by its left neighbour */
};
#define NO_GROUP SIZE_MAX

struct pair {
	uint64_t units; /* the two groups' combined reading time */
	size_t left, right;
	unsigned lver, rver;
};

struct heap {
	struct pair *v;
	size_t n;
};

size_t splitter_sentences(const char *text, char ***out)
{
	struct sentence_list l = { 0 };
	const unsigned char *s = (const unsigned char *)text;
	size_t i;

	*out = NULL;
	if (!text)
		return 0;
	sentence_scan(text, &l);
	if (l.n)
		*out = xmalloc(l.n * sizeof(**out));
	for (i = 0; i < l.n; i++)
		(*out)[i] = sentence_normalize(s + l.v[i].start, s + l.v[i].end);
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
		if (cur && s[i].para == s[cur->last].para && cur->units + s[i].units <= SHOT_TARGET_UNITS) {
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
	return a->left < b->left; /* group indices follow story order: earliest wins */
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
				    .left = left,
				    .right = right,
				    .lver = g[left].ver,
				    .rver = g[right].ver });
}

static bool pair_current(const struct group *g, const struct pair *p)
{
	return !g[p->left].dead && !g[p->right].dead && g[p->left].ver == p->lver && g[p->right].ver == p->rver;
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
			sentence_utf8_last((const unsigned char *)out, n, &a);
			sentence_utf8_next((const unsigned char *)norm[i], (const unsigned char *)norm[i] + len, &b);
			if (sentence_needs_space(a, b))
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
		len = sentence_utf8_last((const unsigned char *)t, n, &cp);
		if (!sentence_is_tail_punct(cp))
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
		len = sentence_utf8_next(p, end, &cp);
		if (sentence_is_quote(cp) || (cp == ' ' && (n == 0 || text[n - 1] == ' ')))
			continue;
		memcpy(text + n, p, len);
		n += len;
	}
	n = strip_tail(text, cut_prompt_text(text, n));
	text[n] = '\0';
	prompt = xasprintf("%s, %s" PROMPT_SUFFIX, style && *style ? style : DEFAULT_STYLE, text);
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

static void fill_shots(const char *text, const struct sentence_list *l, const struct group *g, size_t ng,
		       const char *style, struct storyboard_draft *out)
{
	const unsigned char *s = (const unsigned char *)text;
	char **norm = xmalloc(l->n * sizeof(*norm));
	struct shot_draft *shot;
	size_t i;

	for (i = 0; i < l->n; i++)
		norm[i] = sentence_normalize(s + l->v[i].start, s + l->v[i].end);
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

int splitter_split(const char *text, int max_shots, const char *style, struct storyboard_draft *out, char *err,
		   size_t errlen)
{
	struct sentence_list l = { 0 };
	struct group *g;
	size_t ng;

	memset(out, 0, sizeof(*out));
	if (max_shots < 1)
		return errbuf_set(err, errlen, "max_shots must be at least 1, got %d", max_shots);
	if (text)
		sentence_scan(text, &l);
	g = xmalloc((l.n ? l.n : 1) * sizeof(*g));
	ng = make_groups(l.v, l.n, g);
	if (ng == 0) {
		free(g);
		free(l.v);
		return errbuf_set(err, errlen, "text has nothing to narrate");
	}
	merge_groups(g, ng, (size_t)max_shots);
	fill_shots(text, &l, g, ng, style, out);
	free(g);
	free(l.v);
	return 0;
}

int splitter_reading_ms(const char *text)
{
	return duration_of(sentence_units((const unsigned char *)text, (const unsigned char *)text + strlen(text)));
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
