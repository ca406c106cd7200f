/*
 * What the job and shot actions share: the locked job row, the route
 * preamble (who asks, which job, which shot), wake-up messages, and the
 * resumption of a stopped job. Every call runs inside the transaction
 * idempotency_run opened, so state, job_events and outbox rows commit
 * together.
 */
#ifndef REEL_JOB_FLOW_H
#define REEL_JOB_FLOW_H

#include "action_body.h"
#include "gateway.h"
#include "idempotency.h"

/* The job an action works on, locked FOR UPDATE until the commit. */
struct job_row {
	char id[40];
	char status[16];
	char trace[64];
	int shots_total;
	int shots_ready;    /* shots ready or skipped: the fan-in counts both */
	bool media_expired; /* retention deleted the shots' media: nothing can be made again */
};

/* One action request, as its transactional handler sees it. */
struct job_action {
	const char *id;            /* the job ({id}) */
	int shot;                  /* {n}, or -1 for job actions */
	struct action_edit *edits; /* PATCH (one) or approve (n_edits) edits, owned by the route */
	size_t n_edits;
};

/* Reads the action's body into act; -1 with p filled when it is refused. */
typedef int (*job_flow_parse_fn)(const struct http_request *rq, struct job_action *act, struct api_problem *p);

/* Authenticates, checks {id} (and {n} when with_shot), reads the body with
 * parse (NULL: it must be empty or {}), then runs fn (its arg is the struct
 * job_action) in idempotency_run; answers refusals itself. */
void job_flow_start(struct http_exchange *x, struct daemon *d, int with_shot, job_flow_parse_fn parse,
		    idempotency_fn fn);
/* Locks the caller's job into j: 1, or 0 with a 404 in a, or -1 with a 503. */
int job_flow_lock(struct daemon *d, const char *id, const char *owner, struct job_row *j, struct api_answer *a);
/* True when status is one of the NULL-terminated allowed; else fills a 409
 * naming the job's state and what the action needs (media-expired once
 * retention deleted the shots' media). */
int job_flow_allowed(const struct job_row *j, const char *action, const char *const *allowed, struct api_answer *a);
/* Stages a wake-up for stage: "render"/"tts" with a shot, "parse"/"merge" with -1. */
void job_flow_emit(struct daemon *d, const struct job_row *j, const char *stage, int shot);
/* Moves the job to status, clearing error and finished_at, with its event
 * (detail {"action": action}). 0 or -1. */
int job_flow_set_status(struct daemon *d, struct job_row *j, const char *status, const char *action) WARN_UNUSED;
/* Restarts a stopped (review, paused, failed or done) job once no shot is
 * failed: shots left pending or in between stages go back to pending with
 * one render message each, and the job to producing; or to merging with
 * the merge message when every shot is ready or skipped; or to queued with
 * a parse message when it has no shots. A job with a failed shot is left
 * as it is. 0 or -1. */
int job_flow_resume(struct daemon *d, struct job_row *j, const char *action) WARN_UNUSED;
/* Applies an edit to shot e->index of job id, with its "edited" event:
 * 0, 1 when the job has no such shot, -1 on a database error. */
int job_flow_edit_shot(struct daemon *d, const char *id, const struct action_edit *e) WARN_UNUSED;
/* Runs sql, which answers one row of one integer, into *out. 0 or -1. */
int job_flow_int(struct db *db, const char *sql, int nparams, const char *const *params, int *out) WARN_UNUSED;
/* With billing on, reserves for the rework of job j: making shots shots
 * (and parsing when parse) and merging the job again, its estimate by the
 * job's options. 1 when reserved or billing is off; else 0 with a's 402
 * (short of credits) or 503. */
int job_flow_reserve(struct daemon *d, const struct job_row *j, const char *owner, long shots, bool parse,
		     struct api_answer *a) WARN_UNUSED;
/* Fills a with the job resource (200), or with a 503 when rc < 0 (a statement failed). */
void job_flow_answer(struct daemon *d, const struct job_row *j, const char *owner, int rc, struct api_answer *a);

#endif
