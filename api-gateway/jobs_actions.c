/*
 * Actions on a job: cancel (until the job is final; the workers see the
 * status and drop what they would do next), approve (a reviewed storyboard,
 * with optional shot edits, goes to production) and retry (a failed or
 * paused job resumes). Each is one transaction with its events and messages.
 */
#include "jobs_actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "events.h"
#include "gateway.h"
#include "http_server.h"
#include "job_flow.h"
#include "banned.h"

static void on_cancel(struct daemon *d, const char *owner, void *arg, struct api_answer *a)
{
	static const char sql[] = "UPDATE jobs SET status = 'canceled', updated_at = now(), finished_at = now() "
				  "WHERE id = $1";
	static const char *const allowed[] = { "queued", "parsing", "review", "producing", "paused", "merging", NULL };
	const struct job_action *act = arg;
	struct job_row j;
	const char *params[] = { act->id };
	if (job_flow_lock(d, act->id, owner, &j, a) != 1 || !job_flow_allowed(&j, "cancel", allowed, a))
		return;
	int rc = db_run(d->db, sql, 1, params);
	if (rc == 0)
		events_add(d->events, j.id, -1, "canceled", NULL);
	job_flow_answer(d, &j, owner, rc, a);
}

void jobs_actions_cancel(struct http_exchange *x, void *arg)
{
	job_flow_start(x, arg, 0, NULL, on_cancel);
}

/* A storyboard's shot count, fixed when it is approved. */
static int count_shots(struct daemon *d, struct job_row *j)
{
	static const char sql[] = "UPDATE jobs SET shots_total = (SELECT count(*) FROM shots WHERE job_id = $1) "
				  "WHERE id = $1 RETURNING shots_total";
	const char *params[] = { j->id };
	return job_flow_int(d->db, sql, 1, params, &j->shots_total);
}

static void on_approve(struct daemon *d, const char *owner, void *arg, struct api_answer *a)
{
	static const char *const allowed[] = { "review", NULL };
	const struct job_action *act = arg;
	struct job_row j;
	char field[48];
	if (job_flow_lock(d, act->id, owner, &j, a) != 1 || !job_flow_allowed(&j, "approve", allowed, a))
		return;
	for (size_t i = 0; i < act->n_edits; i++) {
		snprintf(field, sizeof(field), "shots[%zu].index", i);
		int rc = job_flow_edit_shot(d, j.id, &act->edits[i]);
		if (rc != 0) {
			if (rc < 0)
				api_problem_unavailable(&a->problem);
			else
				api_problem_set(&a->problem, 422, "invalid-field", "No such shot", field,
						"the job has no shot %ld", act->edits[i].index);
			return;
		}
	}
	int rc = count_shots(d, &j);
	if (rc == 0 && j.shots_total == 0) {
		api_problem_set(&a->problem, 409, "conflict", "The storyboard has no shots", "status",
				"the job is in review without shots; cancel it and submit the text again");
		return;
	}
	if (rc == 0)
		rc = job_flow_resume(d, &j, "approve");
	job_flow_answer(d, &j, owner, rc, a);
}

static int parse_approve(const struct http_request *rq, struct job_action *act, struct api_problem *p)
{
	return action_body_approve(rq->body, rq->body_len, &act->edits, &act->n_edits, p);
}

void jobs_actions_approve(struct http_exchange *x, void *arg)
{
	job_flow_start(x, arg, 0, parse_approve, on_approve);
}

static void on_retry(struct daemon *d, const char *owner, void *arg, struct api_answer *a)
{
	/* A shot that failed at speech has its picture (and clip): marked as
	 * caught in speech, only its speech is made again (job_flow_resume). */
	static const char sql[] =
		"UPDATE shots SET status = CASE WHEN error->>'stage' = 'tts' AND image_key IS NOT NULL THEN 'voicing' "
		"ELSE 'pending' END, attempts = 0, error = NULL, updated_at = now() WHERE job_id = $1 AND status = 'failed'";
	static const char *const allowed[] = { "failed", "paused", NULL };
	const struct job_action *act = arg;
	struct job_row j;
	const char *params[] = { act->id };
	if (job_flow_lock(d, act->id, owner, &j, a) != 1 || !job_flow_allowed(&j, "retry", allowed, a) ||
	    job_flow_reserve(d, &j, owner, j.shots_total - j.shots_ready, j.shots_total == 0, a) != 1)
		return;
	int rc = db_run(d->db, sql, 1, params);
	if (rc == 0)
		rc = job_flow_resume(d, &j, "retry");
	job_flow_answer(d, &j, owner, rc, a);
}

void jobs_actions_retry(struct http_exchange *x, void *arg)
{
	job_flow_start(x, arg, 0, NULL, on_retry);
}
