/*
 * Screenplay lines are classified one at a time (heading, transition,
 * character cue, parenthetical, dialogue, action) into beats: a run of text
 * with one scene and one speaker. Beats over the cap are merged where it
 * costs least, preferring neighbours of the same scene and speaker; a merge
 * across speakers becomes narration that names who says what.
 */
#include "screenplay.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "banned.h"

#define NAME_MAX_BYTES 40
#define SCENE_PENALTY 1000000u
#define SPEAKER_PENALTY 10000u

struct beat {
	int scene;     /* index into the scene list, -1 before the first heading */
	char *speaker; /* NULL for action */
	char *text;
};

struct reader {
	struct beat *beats;
	size_t n, cap;
	char **scenes; /* place and time of each heading, as a prompt fragment */
	size_t n_scenes;
	char *cue;      /* a centred character name waiting for its lines */
	bool cue_spoke; /* the cue has had a line */
	bool in_action; /* the last beat is action that a next action line continues */
};

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_heading(const char *line)
{
	static const char *const prefixes[] = { "INT.", "EXT.", "INT/EXT", "EXT/INT", "I/E", "INT ", "EXT ", "EST." };
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (starts_with(line, prefixes[i]))
			return true;
	return false;
}

static bool is_transition(const char *line, size_t len)
{
	return starts_with(line, "FADE ") || (len > 3 && strcmp(line + len - 3, "TO:") == 0) ||
	       strcmp(line, "THE END") == 0;
}

/* A character name: no lower-case ASCII, at least one letter, not too long.
 * Names in other scripts count only before a colon: a line of Chinese alone
 * is action, not a cue. */
static bool is_name(const char *s, size_t len, bool wide_ok)
{
	bool letter = false;
	if (len == 0 || len > NAME_MAX_BYTES)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (islower(c) || (c >= 0x80 && !wide_ok))
			return false;
		letter |= isupper(c) || c >= 0x80;
		if (c < 0x80 && !isalnum(c) && !strchr(" .'-()#", c))
			return false;
	}
	return letter;
}

/* The name without " (V.O.)" and the like; the caller frees. */
static char *clean_name(const char *s, size_t len)
{
	const char *paren = memchr(s, '(', len);
	if (paren)
		len = (size_t)(paren - s);
	while (len && s[len - 1] == ' ')
		len--;
	return xstrndup(s, len);
}

static void add_beat(struct reader *r, const char *speaker, const char *text)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->beats = xrealloc(r->beats, r->cap * sizeof(*r->beats));
	}
	r->beats[r->n++] = (struct beat){ (int)r->n_scenes - 1, speaker ? xstrdup(speaker) : NULL, xstrdup(text) };
}

static void append_text(struct beat *b, const char *sep, const char *text)
{
	char *t = xasprintf("%s%s%s", b->text, sep, text);
	free(b->text);
	b->text = t;
}

/* "INT. KITCHEN - NIGHT" -> "interior, kitchen, night". */
static char *setting_of(const char *heading)
{
	const char *rest = heading, *where = "";
	if (starts_with(heading, "INT./EXT.") || starts_with(heading, "INT/EXT") || starts_with(heading, "I/E"))
		where = "inside and outside, ";
	else if (starts_with(heading, "INT"))
		where = "interior, ";
	else if (starts_with(heading, "EXT"))
		where = "exterior, ";
	while (*rest && *rest != ' ')
		rest++;
	while (*rest == ' ')
		rest++;
	char *out = xmalloc(strlen(where) + strlen(rest) + 1), *q = out;
	for (const char *p = where; *p; p++)
		*q++ = *p;
	for (const char *p = rest; *p; p++) {
		if (p[0] == ' ' && p[1] == '-' && p[2] == ' ') {
			*q++ = ','; /* " - " between place and time reads as a list */
			p++;
			continue;
		}
		*q++ = (char)tolower((unsigned char)*p);
	}
	*q = '\0';
	return out;
}

static void read_dialogue(struct reader *r, const char *speaker, const char *line)
{
	struct beat *last = r->n ? &r->beats[r->n - 1] : NULL;
	if (last && !r->in_action && last->speaker && strcmp(last->speaker, speaker) == 0 &&
	    last->scene == (int)r->n_scenes - 1)
		append_text(last, " ", line); /* the same speaker's next line */
	else
		add_beat(r, speaker, line);
	r->in_action = false;
}

/* Where "NAME: line" puts its colon (ASCII or full-width), and its length; NULL when none. */
static const char *find_colon(const char *line, size_t *clen)
{
	const char *ascii = strchr(line, ':'), *wide = strstr(line, "\xEF\xBC\x9A");
	if (ascii && (!wide || ascii < wide)) {
		*clen = 1;
		return ascii;
	}
	*clen = 3;
	return wide;
}

static void read_line(struct reader *r, const char *line, size_t len)
{
	size_t clen;
	const char *colon = find_colon(line, &clen);
	if (is_heading(line)) {
		r->scenes = xrealloc(r->scenes, (r->n_scenes + 1) * sizeof(*r->scenes));
		r->scenes[r->n_scenes++] = setting_of(line);
		r->in_action = false;
	} else if (is_transition(line, len) || (line[0] == '(' && line[len - 1] == ')')) {
		return; /* camera directions and parentheticals are not narrated */
	} else if (colon && colon[clen] && is_name(line, (size_t)(colon - line), true)) {
		char *name = clean_name(line, (size_t)(colon - line));
		const char *said = colon + clen;
		while (*said == ' ')
			said++;
		read_dialogue(r, name, said);
		free(name);
	} else if (r->cue) {
		read_dialogue(r, r->cue, line);
		r->cue_spoke = true;
	} else if (is_name(line, len, false) && len > 1) {
		r->cue = clean_name(line, len);
		r->cue_spoke = false;
	} else if (r->in_action && r->n) {
		append_text(&r->beats[r->n - 1], " ", line);
	} else {
		add_beat(r, NULL, line);
		r->in_action = true;
	}
}

/* A capitalised line that no dialogue followed was action ("BOOM."). */
static void end_cue(struct reader *r)
{
	if (r->cue && !r->cue_spoke) {
		add_beat(r, NULL, r->cue);
		r->in_action = false;
	}
	free(r->cue);
	r->cue = NULL;
}

static void read_text(struct reader *r, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && isspace((unsigned char)*p))
			p++, len--;
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		char *line = xstrndup(p, len);
		if (len == 0) { /* a blank line ends a cue's lines and an action paragraph */
			end_cue(r);
			r->in_action = false;
		} else {
			read_line(r, line, len);
		}
		free(line);
		p = end ? end + 1 : p + strlen(p);
	}
	end_cue(r);
}

static size_t merge_cost(const struct beat *a, const struct beat *b)
{
	size_t cost = strlen(a->text) + strlen(b->text);
	if (a->scene != b->scene)
		cost += SCENE_PENALTY;
	if (!a->speaker || !b->speaker || strcmp(a->speaker, b->speaker) != 0)
		cost += SPEAKER_PENALTY;
	return cost;
}

/* Narration naming its speaker, for a shot that now has several. */
static char *attributed(const struct beat *b)
{
	return b->speaker ? xasprintf("%s: %s", b->speaker, b->text) : xstrdup(b->text);
}

static void merge_pair(struct reader *r, size_t i)
{
	struct beat *a = &r->beats[i], *b = &r->beats[i + 1];
	if (a->speaker && b->speaker && strcmp(a->speaker, b->speaker) == 0) {
		append_text(a, " ", b->text);
	} else {
		char *left = attributed(a), *right = attributed(b);
		free(a->text);
		a->text = xasprintf("%s %s", left, right);
		free(left);
		free(right);
		free(a->speaker);
		a->speaker = NULL;
	}
	free(b->speaker);
	free(b->text);
	memmove(b, b + 1, (r->n - i - 2) * sizeof(*b));
	r->n--;
}

/* Quadratic, but screenplays give at most a few thousand beats. */
static void merge_to(struct reader *r, size_t max)
{
	while (r->n > max) {
		size_t best = 0, best_cost = (size_t)-1;
		for (size_t i = 0; i + 1 < r->n; i++) {
			size_t c = merge_cost(&r->beats[i], &r->beats[i + 1]);
			if (c < best_cost) {
				best_cost = c;
				best = i;
			}
		}
		merge_pair(r, best);
	}
}

static void fill(struct reader *r, const char *style, struct storyboard_draft *out)
{
	out->shots = xcalloc(r->n, sizeof(*out->shots));
	for (size_t i = 0; i < r->n; i++) {
		struct beat *b = &r->beats[i];
		const char *scene = b->scene >= 0 ? r->scenes[b->scene] : NULL;
		char *what = b->speaker ? xasprintf("%s%s%s speaking: %s", scene ? scene : "", scene ? ". " : "",
						    b->speaker, b->text)
					: xasprintf("%s%s%s", scene ? scene : "", scene ? ". " : "", b->text);
		struct shot_draft *s = &out->shots[out->n_shots++];
		s->prompt = splitter_prompt(what, style);
		s->narration = b->text;
		s->speaker = b->speaker;
		s->duration_ms = splitter_reading_ms(b->text);
		free(what);
	}
}

int screenplay_split(const char *text, int max_shots, const char *style, struct storyboard_draft *out, char *err,
		     size_t errlen)
{
	struct reader r = { 0 };
	memset(out, 0, sizeof(*out));
	if (max_shots < 1)
		return errbuf_set(err, errlen, "max_shots must be at least 1, got %d", max_shots);
	read_text(&r, text ? text : "");
	int rc = 0;
	if (r.n == 0) {
		rc = errbuf_set(err, errlen, "the screenplay has no action or dialogue to narrate");
	} else {
		merge_to(&r, (size_t)max_shots);
		fill(&r, style, out);
	}
	for (size_t i = 0; i < r.n_scenes; i++)
		free(r.scenes[i]);
	free(r.scenes);
	free(r.beats);
	return rc;
}
