/*
 * The one interface of parse providers. An offline provider answers at once
 * from the text; a remote one only knows its vendor's wire format: it builds
 * the HTTP request for a conversation and reads the answer back, while
 * parse_llm.c owns sending, retries, repairs and usage.
 */
#ifndef REEL_PARSE_PROVIDER_H
#define REEL_PARSE_PROVIDER_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include <stddef.h>

#include "provider.h"
#include "storyboard.h"

struct parse_config; /* parse_config.h */

/* What a job asks of the parse stage (from jobs.input and jobs.options). */
struct parse_job {
	char *template_name; /* storyboard | script | demo */
	char *text;          /* the story, screenplay or product description */
	char *url;           /* demo: the product's address, else NULL */
	char *style;         /* or NULL */
	char *language;      /* or NULL */
	char *provider;      /* options.providers.parse, or NULL */
	int max_shots;
	bool review;
};

/* A conversation to send: the request, and for a repair the rejected answer
 * and the message quoting what was wrong with it. */
struct parse_prompt {
	const char *system;
	const char *user;
	const char *rejected; /* or NULL */
	const char *repair;   /* or NULL */
};

/* An HTTP request a provider built; parse_llm frees the strings. */
struct parse_request {
	char *url;
	char *headers[4]; /* "Name: value" lines */
	size_t n_headers;
	char *body;
};

/* What a provider read from a vendor's 2xx answer. */
struct parse_answer {
	char *text; /* the storyboard JSON text (owned), NULL when there was none */
	long tokens_in, tokens_out;
	bool truncated; /* the vendor stopped at the token limit */
	char model[96]; /* the model that answered, as the vendor names it */
};

/* A parse provider. Its info.options fill struct parse_config. */
struct parse_provider {
	struct provider_info info;
	/* Offline providers: the storyboard straight from the job (prompts
	 * still without style; the caller finishes them). -1 with err when
	 * there is nothing to narrate. */
	int (*offline)(const struct parse_job *job, struct storyboard *out, char *err, size_t errlen);
	/* Remote providers: the request for a conversation. */
	void (*build)(const struct parse_config *s, const struct parse_prompt *p, struct parse_request *out);
	/* Reads a 2xx answer. -1 with err when its shape is not the vendor's. */
	int (*read)(const char *body, size_t len, struct parse_answer *out, char *err, size_t errlen);
	/* The vendor's own error message in an error answer, into out. */
	void (*error_text)(const char *body, size_t len, char *out, size_t outlen);
	/* After a 400: changes how requests are made (a feature the server
	 * lacks) and returns true when the call should be sent again at once. */
	bool (*downgrade)(struct parse_config *s, const char *body, size_t len);
	/* The model a call uses and its prices in USD per million tokens. */
	const char *(*model)(const struct parse_config *s);
	void (*prices)(const struct parse_config *s, double *in, double *out);
};

/* The stage's providers (providers/registry.c). */
extern const struct provider_registry parse_registry;
extern const struct parse_provider parse_offline;

/* A provider by name, or NULL. */
const struct parse_provider *parse_provider_find(const char *name);
/* error.message of an OpenAI or Anthropic error answer, else the body's start. */
void parse_provider_error_text(const char *body, size_t len, char *out, size_t outlen);
/* Appends {"role": role, "content": content} to a messages array. */
void parse_provider_message(cJSON *messages, const char *role, const char *content);

#endif
