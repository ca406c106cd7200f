/*
 * The webhook-receiver's state and the steps a vendor task's end goes
 * through: a verified callback (or the sweeper's poll) says how the task
 * ended; its output is downloaded, checked and stored; and one transaction
 * marks the shot and announces its next step.
 */
#ifndef REEL_RECEIVER_H
#define REEL_RECEIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "daemon.h"
#include "retry.h"
#include "vendors/vendors.h"

struct fal_keys;
struct http_client;
struct metric;

/* One per process; owned by main. */
struct receiver {
	struct daemon *d;
	struct vendors *v;
	struct http_client *http;
	struct retry_policy retry; /* REEL_RENDER_MAX_ATTEMPTS and the backoff of failed tasks */
	struct fal_keys *fal_keys; /* NULL until loaded */
	uint64_t fal_keys_ms;      /* when they were loaded */
	bool fal_fetching;
	uv_timer_t sweep_timer;
	uv_check_t settle_check; /* settles the queued callbacks once per loop iteration */
	uv_idle_t settle_idle;   /* keeps the loop turning while more than one batch waits */
	struct finishing *queue, **queue_tail;
	int sweeps_running; /* vendor polls and cancels in flight */
	struct metric *m_callbacks, *m_refused, *m_replayed, *m_finished, *m_failed;
};

/* Says how finishing went: the HTTP status to answer a vendor with. */
typedef void (*finish_done_fn)(void *arg, int status, const char *detail);

/* A task that will not end well (timed out, refused output): the failure path.
 * retryable false pauses the job at once. In the caller's transaction. -1 on a failed statement. */
int finish_fail(struct receiver *rc, const char *provider, const char *external_id, const char *code,
		const char *message, bool retryable) WARN_UNUSED;
/* Stages the wake-up message for stage about (job, shot) in the open transaction. */
void finish_emit(struct receiver *rc, const char *stage, const char *job, int shot, const char *trace);

/* The callback routes: POST /webhooks/replicate and /webhooks/fal. */
void callbacks_replicate(struct http_exchange *x, void *arg);
void callbacks_fal(struct http_exchange *x, void *arg);
/* Loads fal's keys (file at once, URL in the background); -1 with err for a bad file. */
int callbacks_init(struct receiver *rc, char *err, size_t errlen) WARN_UNUSED;

/* Starts the periodic sweep (overdue tasks, retries due, canceled jobs). */
void sweeper_start(struct receiver *rc);
void sweeper_stop(struct receiver *rc);

#endif
