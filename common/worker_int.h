/*
 * Internals of the worker module, shared by worker.c (the consumer, the work
 * slots, the process) and worker_batch.c (the batch transaction). Not part of
 * the API: only those two files include it.
 */
#ifndef REEL_WORKER_INT_H
#define REEL_WORKER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "log.h"
#include "retry.h"
#include "worker.h"

#define TAKE_MAX 256
#define HOLD_EXTRA 512
#define N_STAGE_OPTIONS 5

enum phase { PH_CLAIM, PH_WORKING, PH_COMMIT, PH_FAIL, PH_DEFER, PH_ACKING };
enum action { ACT_NONE, ACT_DISPATCH, ACT_ACK };

struct item {
	struct task t; /* first: handlers see only the task */
	int32_t partition;
	int64_t offset;
	enum phase phase;
	enum action action; /* decided in the transaction, applied after COMMIT */
	int pending_acks;   /* produced messages not yet acknowledged */
	uint64_t taken_ms;  /* when the message was taken, for the handler latency */
	uint64_t defer_ms;  /* with PH_DEFER: the wait before the next attempt */
	bool dead;          /* attempts used up: a dead letter goes with the failure */
	uv_work_t work_req;
	struct log_ctx log;
	struct item *next;                    /* in todo or waiting list */
	struct item *live_next, **live_pprev; /* every held item, whatever its phase */
};

struct worker {
	struct daemon d;
	const struct worker_spec *spec;
	struct kafka_consumer *consumer;
	struct offsets *offsets;
	struct config_option stage_options[N_STAGE_OPTIONS];
	char *option_names[N_STAGE_OPTIONS];
	char *provider;
	long concurrency, max_attempts, deadline_s, reconcile_ms;
	struct reconciler *reconciler;
	struct retry_policy retry_policy;
	struct item *todo, **todo_tail;
	struct item *waiting, **waiting_tail; /* claimed, waiting for a work slot */
	struct item *live;                    /* every item held, freed at exit whatever it was doing */
	size_t in_flight;                     /* messages held */
	size_t working;                       /* items whose slow work runs */
	uv_check_t check;
	uv_idle_t more; /* active while todo holds more than one transaction */
	uv_timer_t tx_timer, grace_timer;
	bool tx_blocked;
	struct metric *m_consumed, *m_done, *m_failed, *m_retried, *m_in_flight, *m_latency;
};

/* Appends it to the todo list, which the next batch transaction takes. */
void worker__enqueue(struct worker *w, struct item *it);
/* Stores its offset once acknowledged and frees it; it is gone afterwards. */
void worker__finish(struct worker *w, struct item *it);
/* Starts its slow work, or queues it until a work slot is free. */
void worker__dispatch(struct worker *w, struct item *it);
/* worker_batch.c: runs one transaction over up to TX_MAX items of the todo
 * list (each item alone when the batch fails on a statement); waits for the
 * reconnect when the database is gone. Called once per loop iteration. */
void worker__batch_run(struct worker *w);

#endif
