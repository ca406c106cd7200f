/*
 * Failure records shared by every stage: what went wrong, in words a user
 * understands, on the job (and the shot), with its event.
 */
#ifndef REEL_JOBS_H
#define REEL_JOBS_H

#include <stdbool.h>

#include "util.h"

struct db;
struct events;

/* The {stage, code, message, retryable} object users read, as JSON text; the caller frees. */
char *jobs_error_json(const char *stage, const char *code, const char *message, bool retryable);
/* Marks the job failed with {stage, code, message, retryable} unless it is already
 * final, and records the event. Runs in the caller's transaction. */
int jobs_fail(struct db *db, struct events *ev, const char *job, const char *stage, const char *code,
	      const char *message, bool retryable) WARN_UNUSED;
/* A shot that failed for good: the shot becomes failed and its job paused,
 * waiting for the user to retry, skip or edit it. Runs in the caller's transaction. */
int jobs_pause_for_shot(struct db *db, struct events *ev, const char *job, int shot, const char *stage,
			const char *code, const char *message) WARN_UNUSED;
/* A shot that failed in a way no retry can fix: the shot and its job both
 * fail, with retryable false (nothing happens when the shot has already
 * finished). Runs in the caller's transaction. */
int jobs_fail_for_shot(struct db *db, struct events *ev, const char *job, int shot, const char *stage, const char *code,
		       const char *message) WARN_UNUSED;

#endif
