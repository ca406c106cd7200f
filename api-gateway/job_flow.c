/*
 * The steps job and shot actions share, run in the action's transaction.
 * Shot states follow the workers' rules (render-worker claims pending or
 * rendering shots of producing jobs, tts-worker rendered or voicing ones):
 * a shot put back to pending is picked up by the next render message.
 */
#include "job_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost_estimate.h"
#include "credits.h"
#include "db.h"
#include "envelope.h"
#include "events.h"
#include "http_server.h"
#include "identity.h"
#include "job_view.h"
#include "jobs_api.h"
#include "log.h"
#include "outbox.h"
#include "str.h"
#include "uuid.h"
#include "banned.h"

/* A shot index from the path: digits only, so "01x" or "-1" are no shot. */
static int shot_index(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 4)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	return atoi(s);
}

void job_flow_start(struct http_exchange *x, struct daemon *d, int with_shot, job_flow_parse_fn parse,
		    idempotency_fn fn)
{
	const struct http_request *rq = http_request_of(x);
	struct job_action act = { .id = rq->params[0], .shot = -1 };
	char owner[GATEWAY_OWNER_MAX];
	struct api_problem p;
	if (identity_authenticate(x, d->app, owner, sizeof(owner)) < 0)
		return;
	if (!uuid_valid(act.id)) {
		http_problem(x, 404, "not-found", "No such job", "job ids are UUIDs", "id");
		return;
	}
	if (with_shot && (act.shot = shot_index(rq->params[1])) < 0) {
		http_problem(x, 404, "not-found", "No such shot", "shot numbers are indexes from 0", "n");
		return;
	}
	memset(&p, 0, sizeof(p));
	if (parse ? parse(rq, &act, &p) < 0 : action_body_empty(rq->body, rq->body_len, &p) < 0)
		api_problem_send(x, &p);
	else
		idempotency_run(x, d, owner, fn, &act);
	action_body_free_edits(act.edits, act.n_edits);
}

int job_flow_lock(struct daemon *d, const char *id, const char *owner, struct job_row *j, struct api_answer *a)
{
	static const char sql[] =
		"SELECT status, trace, shots_total, shots_ready, shots_expired_at IS NOT NULL FROM jobs "
		"WHERE id = $1 AND owner = $2 FOR UPDATE";
	const char *params[] = { id, owner };
	PGresult *r = db_exec(d->db, sql, 2, params);
	if (!r)
		return api_problem_unavailable(&a->problem);
	int found = PQntuples(r) == 1;
	if (found) {
		str_copy(j->id, id, sizeof(j->id));
		str_copy(j->status, PQgetvalue(r, 0, 0), sizeof(j->status));
		str_copy(j->trace, PQgetvalue(r, 0, 1), sizeof(j->trace));
		j->shots_total = atoi(PQgetvalue(r, 0, 2));
		j->shots_ready = atoi(PQgetvalue(r, 0, 3));
		j->media_expired = *PQgetvalue(r, 0, 4) == 't';
	} else {
		api_problem_set(&a->problem, 404, "not-found", "No such job", "id", "there is no job with this id");
	}
	PQclear(r);
	return found;
}

int job_flow_allowed(const struct job_row *j, const char *action, const char *const *allowed, struct api_answer *a)
{
	char list[128] = "";
	size_t len = 0;
	if (j->media_expired) {
		api_problem_set(&a->problem, 409, "media-expired", "The job's media have expired", "status",
				"retention deleted the job's shot media; %s is no longer possible", action);
		return 0;
	}
	for (const char *const *s = allowed; *s; s++) {
		if (strcmp(j->status, *s) == 0)
			return 1;
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "", *s);
		if (len >= sizeof(list))
			len = sizeof(list) - 1;
	}
	api_problem_set(&a->problem, 409, "conflict", "The action is not possible in the job's state", "status",
			"the job is %s; %s needs it to be %s", j->status, action, list);
	return 0;
}

void job_flow_emit(struct daemon *d, const struct job_row *j, const char *stage, int shot)
{
	struct envelope env = { .shot = shot, .attempt = 1 };
	char value[256], key[96];
	str_copy(env.job, j->id, sizeof(env.job));
	str_copy(env.trace, j->trace, sizeof(env.trace));
	if (envelope_encode(&env, value, sizeof(value)) < 0)
		abort(); /* a uuid and a stored trace always fit */
	envelope_key(&env, key, sizeof(key));
	outbox_add(d->outbox, stage, key, value, NULL, NULL);
	const struct log_ctx ctx = { j->id, shot, j->trace };
	log_set_ctx(&ctx);
	log_info("%s message staged by an action", stage);
	log_set_ctx(NULL);
}

int job_flow_set_status(struct daemon *d, struct job_row *j, const char *status, const char *action)
{
	static const char sql[] = "UPDATE jobs SET status = $2, error = NULL, finished_at = NULL, updated_at = now() "
				  "WHERE id = $1";
	const char *params[] = { j->id, status };
	char detail[64];
	if (db_run(d->db, sql, 2, params) < 0)
		return -1;
	snprintf(detail, sizeof(detail), "{\"action\":\"%s\"}", action);
	events_add(d->events, j->id, -1, status, detail);
	str_copy(j->status, status, sizeof(j->status));
	return 0;
}

int job_flow_int(struct db *db, const char *sql, int nparams, const char *const *params, int *out)
{
	PGresult *r = db_exec(db, sql, nparams, params);
	int ok = r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0);
	if (ok)
		*out = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return ok ? 0 : -1;
}

/* The number of failed shots of the job, or -1. */
static int failed_shots(struct db *db, const char *id)
{
	static const char sql[] = "SELECT count(*) FROM shots WHERE job_id = $1 AND status = 'failed'";
	const char *params[] = { id };
	int n;
	return job_flow_int(db, sql, 1, params, &n) < 0 ? -1 : n;
}

/* Sends each returned shot index to stage; -1 when the statement failed. */
static int restart(struct daemon *d, const struct job_row *j, const char *sql, const char *stage)
{
	const char *params[] = { j->id };
	PGresult *r = db_exec(d->db, sql, 1, params);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		job_flow_emit(d, j, stage, atoi(PQgetvalue(r, i, 0)));
	PQclear(r);
	return 0;
}

/* Shots caught in speech (voicing, or failed at speech and marked so by
 * retry) go straight back to tts-worker: their picture is done. The other
 * unfinished shots go back to pending with a render message; render-worker
 * keeps a picture (and clip) it finds stored and sends the shot on to
 * speech without calling a vendor, so a job paused by its speech never buys
 * its keyframes again. A shot whose vendor task is still open is left to
 * it: the callback finishes the shot. */
static int restart_shots(struct daemon *d, const struct job_row *j)
{
	static const char to_render[] =
		"UPDATE shots SET status = 'pending', attempts = 0, error = NULL, updated_at = now() "
		"WHERE job_id = $1 AND status IN ('pending', 'rendering', 'rendered') AND NOT EXISTS "
		"(SELECT 1 FROM provider_tasks p WHERE p.job_id = shots.job_id AND p.shot = shots.idx "
		"AND p.stage = 'render' AND p.status IN ('submitted', 'retry')) RETURNING idx";
	static const char to_speech[] = "UPDATE shots SET status = 'rendered', attempts = 0, error = NULL, "
					"updated_at = now() WHERE job_id = $1 AND status = 'voicing' RETURNING idx";
	if (restart(d, j, to_render, "render") < 0)
		return -1;
	return restart(d, j, to_speech, "tts");
}

int job_flow_resume(struct daemon *d, struct job_row *j, const char *action)
{
	int failed = failed_shots(d->db, j->id);
	if (failed != 0)
		return failed < 0 ? -1 : 0;
	if (j->shots_total == 0) {
		job_flow_emit(d, j, "parse", -1);
		return job_flow_set_status(d, j, "queued", action);
	}
	if (j->shots_ready >= j->shots_total) {
		job_flow_emit(d, j, "merge", -1);
		return job_flow_set_status(d, j, "merging", action);
	}
	if (restart_shots(d, j) < 0)
		return -1;
	return job_flow_set_status(d, j, "producing", action);
}

int job_flow_edit_shot(struct daemon *d, const char *id, const struct action_edit *e)
{
	/* A new prompt makes the stored picture and clip of an unfinished shot
	 * stale: they are dropped, so it is rendered again. A ready shot keeps
	 * them for its video until regenerate. */
#define STALE "$3 IS DISTINCT FROM prompt AND $3 IS NOT NULL AND status <> 'ready'"
	static const char sql[] =
		"UPDATE shots SET prompt = coalesce($3, prompt), narration = coalesce($4, narration), "
		"image_key = CASE WHEN " STALE " THEN NULL ELSE image_key END, "
		"video_key = CASE WHEN " STALE " THEN NULL ELSE video_key END, "
		"updated_at = now() WHERE job_id = $1 AND idx = $2";
#undef STALE
	char idx[16], detail[64];
	snprintf(idx, sizeof(idx), "%ld", e->index);
	const char *params[] = { id, idx, e->prompt, e->narration };
	PGresult *r = db_exec(d->db, sql, 4, params);
	long n = r ? db_affected(r) : -1;
	PQclear(r);
	if (n <= 0)
		return n < 0 ? -1 : 1;
	snprintf(detail, sizeof(detail), "{\"edited\":[%s%s%s]}", e->prompt ? "\"prompt\"" : "",
		 e->prompt && e->narration ? "," : "", e->narration ? "\"narration\"" : "");
	events_add(d->events, id, (int)e->index, "edited", detail);
	return 0;
}

int job_flow_reserve(struct daemon *d, const struct job_row *j, const char *owner, long shots, bool parse,
		     struct api_answer *a)
{
	static const char sql[] = "SELECT options::text FROM jobs WHERE id = $1";
	const char *params[] = { j->id };
	if (!d->billing)
		return 1;
	PGresult *r = db_exec(d->db, sql, 1, params);
	if (!r || PQntuples(r) != 1) {
		PQclear(r);
		api_problem_unavailable(&a->problem);
		return 0;
	}
	cJSON *options = cJSON_Parse(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (parse)
		shots = cost_estimate_shots(options);
	long merged = j->shots_total > 0 ? j->shots_total : shots;
	long amount = cost_estimate(d->billing, options, shots, merged, parse);
	cJSON_Delete(options);
	return credits_reserve(d, j->id, owner, amount, &a->problem) == 1;
}

void job_flow_answer(struct daemon *d, const struct job_row *j, const char *owner, int rc, struct api_answer *a)
{
	int found;
	jobs_api_forget(d->app, j->id); /* before the commit, and nothing runs between them */
	if (rc < 0) {
		api_problem_unavailable(&a->problem);
		return;
	}
	a->body = job_view_render(d, j->id, owner, &found);
	if (!a->body) {
		api_problem_unavailable(&a->problem);
		return;
	}
	a->status = 200;
	str_copy(a->job_id, j->id, sizeof(a->job_id));
}
