/*
 * The loop the four pipeline workers share. A worker consumes its stage's
 * topic in batches; each loop iteration runs ONE PostgreSQL transaction that
 * claims the new messages' items, commits the results of finished work and
 * writes the outbox rows announcing the next step. Slow work (drawing,
 * speech, encoding) runs on the libuv thread pool in between. A message's
 * offset is stored only once its transaction committed and the messages it
 * produced were acknowledged.
 */
#ifndef REEL_WORKER_H
#define REEL_WORKER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "envelope.h"

struct worker;

enum claim_result {
	CLAIM_WORK,  /* claimed: run ops->work on the thread pool, then ops->commit */
	CLAIM_READY, /* claimed and nothing slow to do: ops->commit in the same transaction */
	CLAIM_DONE,  /* nothing to do (already done, canceled...): acknowledge the message */
	CLAIM_ERROR, /* a statement failed: the transaction is retried */
};

enum work_result {
	WORK_OK,    /* commit the result */
	WORK_RETRY, /* transient: run the work again after a backoff */
	WORK_FAIL,  /* permanent: record the failure (t->error_code, t->error) */
};

/* One consumed message being handled; owned by the worker loop. */
struct task {
	struct envelope env;
	struct worker *worker;
	void *data; /* the stage's own state; freed by ops->release */
	enum work_result result;
	char error_code[48];     /* machine-readable reason when result is WORK_FAIL */
	char error[512];         /* what went wrong, in words a user understands */
	int work_attempts;       /* how many times ops->work (or ops->start) ran */
	uint64_t retry_after_ms; /* with WORK_RETRY: the least wait a vendor asked for (Retry-After), 0 for none */
	enum claim_result claim; /* set by ops->claim */
};

struct stage_ops {
	/* Checks the configured provider name; -1 with err when unknown. */
	int (*init)(struct worker *w, const char *provider, char *err, size_t errlen);
	/* In the batch transaction: marks each new task's item started, reads what
	 * its work needs and sets t->claim (and t->result = WORK_FAIL with
	 * worker_task_fail when the item cannot be done). -1 on a failed statement. */
	int (*claim)(struct worker *w, struct task **tasks, size_t n);
	/* On the thread pool: the slow part. Sets t->result (and t->error). */
	void (*work)(struct task *t);
	/* Instead of work, for stages that wait on the network: starts the slow
	 * part on the loop without blocking and calls worker_task_done(t) once
	 * t->result is set (usually from an HTTP callback). Up to
	 * REEL_<STAGE>_CONCURRENCY tasks wait at once. */
	void (*start)(struct task *t);
	/* At shutdown, before the loop closes (the grace is over, or nothing is
	 * in flight): stops what start began, tells work still running on the
	 * thread pool to return soon (its result is not committed and its
	 * message is redelivered) and closes the stage's own loop handles. May be NULL. */
	void (*stop)(struct worker *w);
	/* In the batch transaction: writes the results of tasks and stages the
	 * next messages. -1 on a failed statement. */
	int (*commit)(struct worker *w, struct task **tasks, size_t n);
	/* In the batch transaction: records that the item failed for good (t->error). -1 on a failed statement. */
	int (*fail)(struct worker *w, struct task *t);
	/* In the batch transaction, before a transient failure's retry is
	 * scheduled in the database (and the message acknowledged): records what
	 * the failed attempt leaves behind, such as usage rows. May be NULL. */
	int (*defer)(struct worker *w, struct task *t);
	/* Frees t->data. */
	void (*release)(struct task *t);
};

struct worker_spec {
	const char *name;  /* "render-worker" */
	const char *stage; /* "render": topic suffix, group "reel-render", env REEL_RENDER_* */
	const char *default_http_addr;
	long default_concurrency;
	const struct stage_ops *ops;
	const struct config_option *options; /* the stage's own options, or NULL */
	size_t n_options;
	void *config;
};

/* The whole life of a worker process; returns the exit code for main(). */
int worker_main(int argc, char **argv, const struct worker_spec *spec);

/* Ends the slow part begun by ops->start; t->result says how it went.
 * WORK_RETRY runs ops->start again after common/retry's backoff (at least
 * t->retry_after_ms) until REEL_<STAGE>_MAX_ATTEMPTS attempts were made. */
void worker_task_done(struct task *t);
/* Ends the slow part with a verdict: result (WORK_RETRY or WORK_FAIL), an
 * error code and a reason a user reads (printf-style), then worker_task_done. */
void worker_task_verdict(struct task *t, enum work_result result, const char *code, const char *fmt, ...)
	PRINTF_LIKE(4, 5);

/* Accessors for handlers. */
uv_loop_t *worker_loop(struct worker *w);
/* The spec's config (where the stage's options were loaded). */
void *worker_config(struct worker *w);
/* The stage's own process-wide state (set by ops->init). */
void worker_set_app(struct worker *w, void *app);
void *worker_app(struct worker *w);
struct db *worker_db(struct worker *w);
struct events *worker_events(struct worker *w);
struct storage *worker_storage(struct worker *w);
/* The shared daemon options (REEL_PUBLIC_URL...). */
const struct daemon_config *worker_daemon_config(const struct worker *w);
/* REEL_BILLING_FILE's prices and plans; NULL when billing is off. */
const struct billing *worker_billing(const struct worker *w);
/* True when REEL_OFFLINE_SKIP_MEDIA asks offline providers to answer at once. */
bool worker_skip_media(const struct worker *w);
/* Stages the message for the next stage about t's job (shot -1 for a job-level message). */
void worker_emit(struct worker *w, const struct task *t, const char *stage, int shot);
/* Runs sql over a whole batch: $1 = the tasks' job ids (and $2 = their shot
 * indexes when with_shots) as arrays in task order, for unnest() ... WITH
 * ORDINALITY, followed by the n_extra parameters of extra; NULL on error. */
PGresult *worker_query_tasks(struct worker *w, const char *sql, struct task **tasks, size_t n, bool with_shots,
			     const char *const *extra, size_t n_extra);
/* The task a result row is about: column 0 holds its 1-based ordinal in tasks. */
struct task *worker_row_task(PGresult *r, int row, struct task **tasks, size_t n);
/* The usual claim: every task is CLAIM_DONE (nothing to do) unless a row of r
 * names it, and then take() fills it in and sets t->claim. Clears r. -1 when r
 * is NULL or take() fails. */
int worker_claim_rows(struct worker *w, PGresult *r, struct task **tasks, size_t n,
		      int (*take)(struct worker *w, struct task *t, PGresult *r, int row)) WARN_UNUSED;
/* Points this thread's log lines at t's job, shot and trace. */
void worker_task_log(const struct task *t);
/* Fills t->error_code / t->error (printf-style) and returns WORK_FAIL. */
enum work_result worker_task_fail(struct task *t, const char *code, const char *fmt, ...) PRINTF_LIKE(3, 4);

#endif
