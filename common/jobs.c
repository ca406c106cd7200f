/*
 * Events and failures, written in the caller's transaction.
 */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "json.h"
#include "outbox.h"
#include "banned.h"

static void announce(struct outbox *ob, const char *job, int shot, const char *kind, const char *detail_json,
		     PGresult *r)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "seq", atof(PQgetvalue(r, 0, 0)));
	cJSON_AddStringToObject(e, "job_id", job);
	if (shot >= 0)
		cJSON_AddNumberToObject(e, "shot", shot);
	else
		cJSON_AddNullToObject(e, "shot");
	cJSON_AddStringToObject(e, "kind", kind);
	cJSON *detail = detail_json ? cJSON_Parse(detail_json) : NULL;
	cJSON_AddItemToObject(e, "detail", detail ? detail : cJSON_CreateNull());
	cJSON_AddStringToObject(e, "at", PQgetvalue(r, 0, 1));
	char *text = json_print(e);
	outbox_add_volatile(ob, "events", job, text);
	free(text);
	cJSON_Delete(e);
}

int jobs_event(struct db *db, struct outbox *ob, const char *job, int shot, const char *kind, const char *detail_json)
{
	static const char sql[] = "INSERT INTO job_events (job_id, shot, kind, detail) VALUES ($1, $2, $3, $4) "
				  "RETURNING seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
	char shot_text[16];
	const char *params[] = { job, shot >= 0 ? shot_text : NULL, kind, detail_json };
	snprintf(shot_text, sizeof(shot_text), "%d", shot);
	PGresult *r = db_exec(db, sql, 4, params);
	if (!r)
		return -1;
	if (ob)
		announce(ob, job, shot, kind, detail_json, r);
	PQclear(r);
	return 0;
}

/* The {stage, code, message, retryable} object users read; the caller frees. */
static char *error_json(const char *stage, const char *code, const char *message, bool retryable)
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

int jobs_pause_for_shot(struct db *db, struct outbox *ob, const char *job, int shot, const char *stage,
			const char *code, const char *message)
{
	static const char shot_sql[] = "UPDATE shots SET status = 'failed', error = $3::jsonb, updated_at = now() "
				       "WHERE job_id = $1 AND idx = $2 AND status NOT IN ('ready', 'skipped')";
	static const char job_sql[] = "UPDATE jobs SET status = 'paused', error = $2::jsonb, updated_at = now() "
				      "WHERE id = $1 AND status = 'producing'";
	char *text = error_json(stage, code, message, true), idx[16];
	const char *shot_params[] = { job, idx, text }, *job_params[] = { job, text };
	int rc = -1;
	snprintf(idx, sizeof(idx), "%d", shot);
	PGresult *r = db_exec(db, shot_sql, 3, shot_params);
	if (r && db_affected(r) == 1 && jobs_event(db, ob, job, shot, "failed", text) == 0) {
		PQclear(r);
		r = db_exec(db, job_sql, 2, job_params);
		rc = r && (db_affected(r) == 0 || jobs_event(db, ob, job, -1, "paused", text) == 0) ? 0 : -1;
	} else if (r) {
		rc = 0; /* already ready, skipped or failed: nothing to record */
	}
	PQclear(r);
	free(text);
	return rc;
}

int jobs_fail(struct db *db, struct outbox *ob, const char *job, const char *stage, const char *code,
	      const char *message, bool retryable)
{
	static const char sql[] = "UPDATE jobs SET status = 'failed', error = $2::jsonb, updated_at = now(), "
				  "finished_at = now() WHERE id = $1 AND status NOT IN ('done', 'failed', 'canceled')";
	char *text = error_json(stage, code, message, retryable);
	const char *params[] = { job, text };
	int rc = -1;
	PGresult *r = db_exec(db, sql, 2, params);
	if (r) {
		rc = db_affected(r) == 1 ? jobs_event(db, ob, job, -1, "failed", text) : 0;
		PQclear(r);
	}
	free(text);
	return rc;
}
