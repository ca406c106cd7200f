/*
 * Actions on one shot: PATCH (edit its prompt or narration while the job
 * is stopped), regenerate (render it again and merge again) and skip (a
 * failed shot is left out; it counts toward the fan-in, so the job merges
 * once every shot is ready or skipped).
 */
#include "shot_actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "events.h"
#include "gateway.h"
#include "http_server.h"
#include "job_flow.h"
#include "str.h"
#include "banned.h"

/* The shot's status into status: 1, or 0 with a 404 in a, or -1 with a 503. */
static int shot_status(struct daemon *d, const struct job_row *j, int shot, char *status, size_t len,
		       struct api_answer *a)
{
	static const char sql[] = "SELECT status FROM shots WHERE job_id = $1 AND idx = $2";
	char idx[16];
	snprintf(idx, sizeof(idx), "%d", shot);
	const char *params[] = { j->id, idx };
	PGresult *r = db_exec(d->db, sql, 2, params);
	if (!r)
		return api_problem_unavailable(&a->problem);
	int found = PQntuples(r) == 1;
	if (found)
		str_copy(status, PQgetvalue(r, 0, 0), len);
	else
		api_problem_set(&a->problem, 404, "not-found", "No such shot", "n", "the job has no shot %d", shot);
	PQclear(r);
	return found;
}

static int shot_conflict(struct api_answer *a, int shot, const char *status, const char *action, const char *need)
{
	return api_problem_set(&a->problem, 409, "conflict", "The action is not possible in the shot's state", "status",
			       "shot %d is %s; %s needs it to be %s", shot, status, action, need);
}

/* Adds delta to the job's ready-or-skipped count. */
static int count_ready(struct daemon *d, struct job_row *j, int delta)
{
	static const char sql[] = "UPDATE jobs SET shots_ready = shots_ready + $2, updated_at = now() WHERE id = $1 "
				  "RETURNING shots_ready";
	char k[16];
	snprintf(k, sizeof(k), "%d", delta);
	const char *params[] = { j->id, k };
	return job_flow_int(d->db, sql, 2, params, &j->shots_ready);
}

static void on_patch(struct daemon *d, const char *owner, void *arg, struct api_answer *a)
{
	static const char *const allowed[] = { "review", "paused", "failed", "done", NULL };
	struct job_action *act = arg;
	struct job_row j;
	if (job_flow_lock(d, act->id, owner, &j, a) != 1 || !job_flow_allowed(&j, "editing a shot", allowed, a))
		return;
	act->edits[0].index = act->shot;
	int rc = job_flow_edit_shot(d, j.id, &act->edits[0]);
	if (rc == 1)
		api_problem_set(&a->problem, 404, "not-found", "No such shot", "n", "the job has no shot %d",
				act->shot);
	else
		job_flow_answer(d, &j, owner, rc, a);
}

static int parse_patch(const struct http_request *rq, struct job_action *act, struct api_problem *p)
{
	act->edits = xcalloc(1, sizeof(*act->edits));
	if (action_body_patch(rq->body, rq->body_len, act->edits, p) < 0)
		return -1;
	act->n_edits = 1;
	return 0;
}

void shot_actions_patch(struct http_exchange *x, void *arg)
{
	job_flow_start(x, arg, 1, parse_patch, on_patch);
}

/* Puts a ready, skipped or failed shot back to pending, with its event. Its
 * picture and clip are dropped: regenerate asks for new ones (and pays for them). */
static int reset_shot(struct daemon *d, const struct job_row *j, int shot)
{
	static const char sql[] = "UPDATE shots SET status = 'pending', attempts = 0, error = NULL, image_key = NULL, "
				  "video_key = NULL, updated_at = now() WHERE job_id = $1 AND idx = $2";
	char idx[16];
	snprintf(idx, sizeof(idx), "%d", shot);
	const char *params[] = { j->id, idx };
	if (db_run(d->db, sql, 2, params) < 0)
		return -1;
	events_add(d->events, j->id, shot, "pending", "{\"action\":\"regenerate\"}");
	return 0;
}

static void on_regenerate(struct daemon *d, const char *owner, void *arg, struct api_answer *a)
{
	static const char *const allowed[] = { "producing", "paused", "failed", "done", NULL };
	const struct job_action *act = arg;
	struct job_row j;
	char status[16];
	int rc;
	if (job_flow_lock(d, act->id, owner, &j, a) != 1 || !job_flow_allowed(&j, "regenerate", allowed, a) ||
	    shot_status(d, &j, act->shot, status, sizeof(status), a) != 1)
		return;
	int counted = strcmp(status, "ready") == 0 || strcmp(status, "skipped") == 0;
	if (!counted && strcmp(status, "failed") != 0) {
		shot_conflict(a, act->shot, status, "regenerate", "ready, skipped or failed");
		return;
	}
	if (job_flow_reserve(d, &j, owner, 1, false, a) != 1)
		return; /* a user's regenerate is paid for: reserved first */
	rc = reset_shot(d, &j, act->shot);
	if (rc == 0 && counted)
		rc = count_ready(d, &j, -1);
	if (rc == 0 && strcmp(j.status, "producing") == 0)
		job_flow_emit(d, &j, "render", act->shot);
	else if (rc == 0)
		rc = job_flow_resume(d, &j, "regenerate");
	job_flow_answer(d, &j, owner, rc, a);
}

void shot_actions_regenerate(struct http_exchange *x, void *arg)
{
	job_flow_start(x, arg, 1, NULL, on_regenerate);
}

/* A producing job whose last missing shot was skipped merges now. */
static int merge_if_complete(struct daemon *d, struct job_row *j)
{
	if (j->shots_ready < j->shots_total)
		return 0;
	job_flow_emit(d, j, "merge", -1);
	return job_flow_set_status(d, j, "merging", "skip");
}

static void on_skip(struct daemon *d, const char *owner, void *arg, struct api_answer *a)
{
	static const char sql[] = "UPDATE shots SET status = 'skipped', updated_at = now() "
				  "WHERE job_id = $1 AND idx = $2";
	static const char *const allowed[] = { "producing", "paused", "failed", NULL };
	const struct job_action *act = arg;
	struct job_row j;
	char status[16], idx[16];
	const char *params[] = { act->id, idx };
	if (job_flow_lock(d, act->id, owner, &j, a) != 1 || !job_flow_allowed(&j, "skip", allowed, a) ||
	    shot_status(d, &j, act->shot, status, sizeof(status), a) != 1)
		return;
	if (strcmp(status, "failed") != 0) {
		shot_conflict(a, act->shot, status, "skip", "failed");
		return;
	}
	snprintf(idx, sizeof(idx), "%d", act->shot);
	int rc = db_run(d->db, sql, 2, params);
	if (rc == 0) {
		events_add(d->events, j.id, act->shot, "skipped", NULL);
		rc = count_ready(d, &j, 1);
	}
	if (rc == 0)
		rc = strcmp(j.status, "producing") == 0 ? merge_if_complete(d, &j) : job_flow_resume(d, &j, "skip");
	job_flow_answer(d, &j, owner, rc, a);
}

void shot_actions_skip(struct http_exchange *x, void *arg)
{
	job_flow_start(x, arg, 1, NULL, on_skip);
}
