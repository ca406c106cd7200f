/*
 * The storyboard a parse job produces: characters and shots, as
 * parse-worker/storyboard.schema.json documents. Answers from language models
 * are parsed and checked against the schema and the job's limits here, with
 * every violation listed in words the model (and a user) can act on.
 */
#ifndef REEL_STORYBOARD_H
#define REEL_STORYBOARD_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "util.h"

#define STORYBOARD_MAX_ERRORS 20

struct sb_character {
	char *name;
	char *look;  /* visual description, English */
	char *voice; /* text-to-speech hint, or NULL */
};

struct sb_shot {
	char *prompt; /* what the image model draws; after storyboard_finish_prompts, style and looks included */
	char *narration;
	char *speaker;   /* NULL for the narrator */
	char *camera;    /* zoom_in... or NULL */
	int duration_ms; /* 2000..15000 */
};

/* Owns everything it points to; storyboard_release frees it. */
struct storyboard {
	char *title;
	char *language;
	struct sb_character *characters;
	size_t n_characters;
	struct sb_shot *shots;
	size_t n_shots;
};

struct storyboard_limits {
	int max_shots;        /* 1..60 */
	const char *language; /* the job's language, or NULL: the answer's primary subtag must match */
};

/* What is wrong with an answer, one readable line each. */
struct storyboard_errors {
	char *v[STORYBOARD_MAX_ERRORS];
	size_t n;
	size_t dropped; /* errors past STORYBOARD_MAX_ERRORS */
};

/* Parses and validates a model's answer (JSON text). 0 with *out filled, or
 * -1 with errs filled and *out empty. */
int storyboard_parse(const char *text, size_t len, const struct storyboard_limits *lim, struct storyboard *out,
		     struct storyboard_errors *errs) WARN_UNUSED;
/* Validates an already parsed answer; same contract as storyboard_parse. */
int storyboard_from_json(const cJSON *j, const struct storyboard_limits *lim, struct storyboard *out,
			 struct storyboard_errors *errs) WARN_UNUSED;
/* Makes each prompt what the image model receives: style first, then the
 * shot's prompt, then the looks of the characters who appear in the shot
 * (its speaker, or named in its prompt or narration). */
void storyboard_finish_prompts(struct storyboard *sb, const char *style);
/* {"title","language","characters":[{"name","look","voice"}]} for jobs.storyboard; the caller frees. */
char *storyboard_meta_json(const struct storyboard *sb);
void storyboard_release(struct storyboard *sb);

/* The errors joined with "; " (and how many more); the caller frees. */
char *storyboard_errors_text(const struct storyboard_errors *errs);
void storyboard_errors_release(struct storyboard_errors *errs);

#endif
