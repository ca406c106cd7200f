/*
 * parse-worker's configuration: the language-model vendors' addresses, keys,
 * models and prices, the per-call timeout, and the prompt texts and
 * storyboard schema loaded from files at start.
 */
#ifndef REEL_PARSE_CONFIG_H
#define REEL_PARSE_CONFIG_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "util.h"

enum parse_prompt_kind { PROMPT_SYSTEM, PROMPT_STORYBOARD, PROMPT_SCRIPT, PROMPT_DEMO, PROMPT_REPAIR, PROMPT_COUNT };

struct parse_config {
	char *openai_base_url, *openai_api_key, *openai_model, *openai_format, *openai_prices;
	char *anthropic_base_url, *anthropic_api_key, *anthropic_model, *anthropic_prices;
	char *model;        /* REEL_PARSE_MODEL: overrides the vendor's model when set */
	char *prompts_dir;  /* REEL_PARSE_PROMPTS_DIR, or the default found at start */
	char *schema_path;  /* REEL_PARSE_SCHEMA */
	long timeout_s;     /* REEL_PARSE_TIMEOUT_S: one vendor call */
	long max_tokens;    /* REEL_PARSE_MAX_TOKENS: the answer's token budget */
	long max_answer_kb; /* REEL_PARSE_MAX_ANSWER_KB: a larger answer is refused unread */
	/* Derived at start. */
	bool openai_json_schema; /* response_format json_schema (else json_object); cleared when the server refuses it */
	double openai_price_in, openai_price_out; /* USD per million tokens */
	double anthropic_price_in, anthropic_price_out;
	char *prompts[PROMPT_COUNT];
	cJSON *schema; /* storyboard.schema.json without its $schema/$id annotations */
};

/* The stage's own options; the vendors' are in their info.options. */
extern const struct config_option parse_config_options[];
extern const size_t parse_config_n_options;
/* Both, as one table of n entries for the worker to load. The caller frees it. */
struct config_option *parse_config_table(size_t *n);

/* After config_load: checks the values, finds and loads the prompts and the
 * schema. -1 with err naming the variable at fault. */
int parse_config_prepare(struct parse_config *s, char *err, size_t errlen) WARN_UNUSED;
/* Frees what parse_config_prepare loaded (config_release frees the rest). */
void parse_config_release(struct parse_config *s);

/* The values a prompt template's {{name}} placeholders take. */
struct prompt_vars {
	const char *text, *url, *language, *style, *errors;
	int max_shots;
};

/* The template with {{text}}, {{url}}, {{language}}, {{style}}, {{errors}}
 * and {{max_shots}} replaced (unknown ones kept); the caller frees. The
 * values are not scanned again, so a story may contain "{{...}}". */
char *parse_config_render_prompt(const char *tmpl, const struct prompt_vars *v);

#endif
