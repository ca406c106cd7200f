/*
 * One parse job's conversation with a language model: the request, one
 * repair round when the answer breaks the schema, and the verdict the worker
 * loop acts on (commit, retry later with backoff, or fail at once). Every
 * HTTP call is recorded for the usage table.
 */
#ifndef REEL_PARSE_LLM_H
#define REEL_PARSE_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "http_client.h"
#include "parse_provider.h"
#include "provider_calls.h"
#include "storyboard.h"
#include "worker.h"

/* Per process: what every job's conversation shares. */
struct parse_state {
	struct parse_config *settings;
	const struct parse_provider *provider; /* REEL_PARSE_PROVIDER */
	struct http_client *http;
};

/* A parse task's state (task->data). */
struct parse_data {
	struct parse_job job;
	const struct parse_provider *provider;
	struct storyboard board; /* the result, prompts finished */
	char *meta_json;         /* jobs.storyboard */
	struct provider_call *calls;
	size_t n_calls;
	/* The conversation of the current attempt. */
	struct http_client_call *call;
	const char *purpose;
	char *user, *rejected, *repair;
};

/* Begins an attempt for t (ops->start); ends in worker_task_done. */
void parse_llm_start(struct parse_state *ps, struct task *t);
/* Frees pd and everything it owns. */
void parse_llm_data_free(struct parse_data *pd);

#endif
