/*
 * Job and shot state shared by every stage: the event log (each status
 * change is a job_events row, announced on reel.events) and the failure
 * record a user reads ("what went wrong, in words").
 */
#ifndef REEL_JOBS_H
#define REEL_JOBS_H

#include <stdbool.h>

#include "util.h"

struct db;
struct outbox;

/* Inserts a job_events row (shot -1 for the job itself) and stages its
 * reel.events message; detail_json may be NULL. Runs in the caller's transaction. */
int jobs_event(struct db *db, struct outbox *ob, const char *job, int shot, const char *kind,
	       const char *detail_json) WARN_UNUSED;
/* Marks the job failed with {stage, code, message, retryable} unless it is already
 * final, and records the event. Runs in the caller's transaction. */
int jobs_fail(struct db *db, struct outbox *ob, const char *job, const char *stage, const char *code,
	      const char *message, bool retryable) WARN_UNUSED;

/* A shot that failed for good: the shot becomes failed and its job paused,
 * waiting for the user to retry, skip or edit it. Runs in the caller's transaction. */
int jobs_pause_for_shot(struct db *db, struct outbox *ob, const char *job, int shot, const char *stage,
			const char *code, const char *message) WARN_UNUSED;

#endif
