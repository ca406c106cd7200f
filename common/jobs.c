/*
 * Failures, written in the caller's transaction.
 */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "events.h"
#include "json.h"
#include "banned.h"

char *jobs_error_json(const char *stage, const char *code, const char *message, bool retryable)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "stage", stage);
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddBoolToObject(e, "retryable", retryable);
	char *text = json_print(e);
	cJSON_Delete(e);
	return text;
}

/* Runs sql with params; the number of rows it changed, or -1. */
static long changed(struct db *db, const char *sql, int n, const char *const *params)
{
	PGresult *r = db_exec(db, sql, n, params);
	long k = r ? db_affected(r) : -1;
	PQclear(r);
	return k;
}

/* Marks the shot failed with text; 1 when it was, 0 when it had already
 * finished, -1 on a failed statement. */
static long fail_shot(struct db *db, struct events *ev, const char *job, int shot, const char *text)
{
	static const char sql[] = "UPDATE shots SET status = 'failed', error = $3::jsonb, updated_at = now() "
				  "WHERE job_id = $1 AND idx = $2 AND status NOT IN ('ready', 'skipped', 'failed')";
	char idx[16];
	const char *params[] = { job, idx, text };
	snprintf(idx, sizeof(idx), "%d", shot);
	long k = changed(db, sql, 3, params);
	if (k == 1)
		events_add(ev, job, shot, "failed", text);
	return k;
}

int jobs_pause_for_shot(struct db *db, struct events *ev, const char *job, int shot, const char *stage,
			const char *code, const char *message)
{
	static const char job_sql[] = "UPDATE jobs SET status = 'paused', error = $2::jsonb, updated_at = now() "
				      "WHERE id = $1 AND status = 'producing'";
	char *text = jobs_error_json(stage, code, message, true);
	const char *job_params[] = { job, text };
	long k = fail_shot(db, ev, job, shot, text);
	if (k == 1) {
		k = changed(db, job_sql, 2, job_params);
		if (k == 1)
			events_add(ev, job, -1, "paused", text);
	}
	free(text);
	return k < 0 ? -1 : 0;
}

int jobs_fail_for_shot(struct db *db, struct events *ev, const char *job, int shot, const char *stage, const char *code,
		       const char *message)
{
	char *text = jobs_error_json(stage, code, message, false);
	long k = fail_shot(db, ev, job, shot, text);
	free(text);
	if (k != 1) /* -1, or a duplicate delivery of a shot already finished */
		return k < 0 ? -1 : 0;
	return jobs_fail(db, ev, job, stage, code, message, false);
}

int jobs_fail(struct db *db, struct events *ev, const char *job, const char *stage, const char *code,
	      const char *message, bool retryable)
{
	static const char sql[] = "UPDATE jobs SET status = 'failed', error = $2::jsonb, updated_at = now(), "
				  "finished_at = now() WHERE id = $1 AND status NOT IN ('done', 'failed', 'canceled')";
	char *text = jobs_error_json(stage, code, message, retryable);
	const char *params[] = { job, text };
	long k = changed(db, sql, 2, params);
	if (k == 1)
		events_add(ev, job, -1, "failed", text);
	free(text);
	return k < 0 ? -1 : 0;
}
