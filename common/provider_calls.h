/*
 * Usage records of vendor calls: every HTTP call a stage makes to an AI
 * vendor becomes one provider_calls row (who, which model, how it went, how
 * long it took, what it billed), written in the transaction that settles
 * the task, so dashboards and invoices see each call once.
 */
#ifndef REEL_PROVIDER_CALLS_H
#define REEL_PROVIDER_CALLS_H

#include <stddef.h>

#include "util.h"

struct db;

/* One vendor call. Strings without storage here point at static text or at
 * the task's envelope, which outlives the record. */
struct provider_call {
	const char *job;      /* the job's id */
	int shot;             /* the shot's index, -1 for a job-level call */
	const char *provider; /* openai, anthropic, fish, elevenlabs... */
	char model[96];
	const char *purpose; /* storyboard, repair, speech */
	int attempt;         /* the stage's attempt this call belonged to */
	int http_status;     /* 0 without an answer (timeout, connection) */
	const char *outcome; /* ok, invalid, empty, rate_limited, server_error, timeout, oversize, auth... */
	long tokens_in, tokens_out;
	long characters; /* text sent, in code points: what speech vendors bill */
	long latency_ms;
	double cost_usd; /* an estimate from configured prices; 0 when unknown */
	char error[256]; /* why the call failed; empty when it did not */
};

/* Inserts the n calls of stage as provider_calls rows in one statement of
 * the open transaction. 0 (also when n is 0) or -1 on a failed statement. */
int provider_calls_insert(struct db *db, const char *stage, const struct provider_call *const *calls,
			  size_t n) WARN_UNUSED;
/* Sets c's error from a printf format (truncated to fit). */
void provider_calls_error(struct provider_call *c, const char *fmt, ...) PRINTF_LIKE(2, 3);

#endif
