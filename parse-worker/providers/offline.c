/*
 * The offline parse provider: no network, no key. Stories go through the
 * sentence splitter, screenplays through the screenplay reader, and a demo's
 * description becomes steps on the product's screen. Prompts carry the
 * job's style; the language is the job's, or guessed from the script used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_provider.h"
#include "screenplay.h"
#include "splitter.h"
#include "banned.h"

#define TITLE_MAX_BYTES 60

/* Han, kana or hangul anywhere: the narration is Chinese, Japanese or Korean. */
static const char *guess_language(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (p[0] == 0xE3 && (p[1] == 0x81 || p[1] == 0x82 || p[1] == 0x83))
			return "ja";
		if (p[0] == 0xEA || p[0] == 0xEB || p[0] == 0xEC || p[0] == 0xED)
			return "ko";
		if (p[0] >= 0xE4 && p[0] <= 0xE9)
			return "zh";
	}
	return "en";
}

/* The first line, cut at a character boundary. */
static char *title_of(const char *text)
{
	while (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t')
		text++;
	size_t n = strcspn(text, "\r\n");
	if (n > TITLE_MAX_BYTES) {
		n = TITLE_MAX_BYTES;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	return n ? xstrndup(text, n) : xstrdup("Untitled");
}

static void demo_prompts(struct storyboard_draft *d, const char *url)
{
	for (size_t i = 0; i < d->n_shots; i++) {
		char *p = xasprintf("%s, the product at %s on screen, step %zu of %zu", d->shots[i].prompt,
				    url ? url : "its website", i + 1, d->n_shots);
		free(d->shots[i].prompt);
		d->shots[i].prompt = p;
	}
}

/* Moves the draft's shots into the storyboard. */
static void adopt(struct storyboard_draft *d, struct storyboard *out)
{
	out->shots = xcalloc(d->n_shots, sizeof(*out->shots));
	for (size_t i = 0; i < d->n_shots; i++) {
		struct shot_draft *s = &d->shots[i];
		out->shots[i] = (struct sb_shot){ s->prompt, s->narration, s->speaker, NULL, s->duration_ms };
	}
	out->n_shots = d->n_shots;
	free(d->shots);
	memset(d, 0, sizeof(*d));
}

static int run(const struct parse_job *job, struct storyboard *out, char *err, size_t errlen)
{
	struct storyboard_draft d;
	bool script = job->template_name && strcmp(job->template_name, "script") == 0;
	int rc = script ? screenplay_split(job->text, job->max_shots, job->style, &d, err, errlen)
			: splitter_split(job->text, job->max_shots, job->style, &d, err, errlen);
	memset(out, 0, sizeof(*out));
	if (rc < 0)
		return -1;
	if (job->template_name && strcmp(job->template_name, "demo") == 0)
		demo_prompts(&d, job->url);
	adopt(&d, out);
	out->title = title_of(job->text);
	out->language = xstrdup(job->language && *job->language ? job->language : guess_language(job->text));
	return 0;
}

const struct parse_provider parse_offline = {
	.info = { .name = "offline", .summary = "reads the text itself: one shot per paragraph or scene, at once" },
	.offline = run,
};
