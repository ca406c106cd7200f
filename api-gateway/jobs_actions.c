/*
 * Actions on a job. POST /v1/jobs/{id}/cancel: legal until the job is final;
 * the workers see the status and drop what they would do next.
 */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "events.h"
#include "json.h"
#include "outbox.h"
#include "banned.h"

/* Action bodies are optional; when present they must be a JSON object. */
static int body_ok(struct http_exchange *x)
{
	struct http_request *rq = http_request_of(x);
	cJSON *j;
	if (rq->body_len == 0)
		return 1;
	j = json_parse(rq->body, rq->body_len);
	int ok = j && cJSON_IsObject(j);
	cJSON_Delete(j);
	if (!ok)
		http_problem(x, 400, "invalid-json", "The body is not a JSON object", "send {} or no body", NULL);
	return ok;
}

static int cancel(struct daemon *d, const char *id, const char *owner)
{
	static const char sql[] = "UPDATE jobs SET status = 'canceled', updated_at = now(), finished_at = now() "
				  "WHERE id = $1 AND owner = $2 AND status NOT IN ('done', 'failed', 'canceled')";
	const char *params[] = { id, owner };
	if (db_begin(d->db) < 0)
		return -1;
	PGresult *r = db_exec(d->db, sql, 2, params);
	long n = r ? db_affected(r) : -1;
	PQclear(r);
	if (n == 1)
		events_add(d->events, id, -1, "canceled", NULL);
	if (n < 0) {
		daemon_rollback(d);
		return -1;
	}
	return daemon_commit(d) < 0 ? -1 : (int)n;
}

void gateway_cancel_job(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	const char *id = http_request_of(x)->params[0];
	char owner[GATEWAY_OWNER_MAX], status[32], detail[128], *body;
	int n, found;
	if (gateway_authenticate(x, d->app, owner, sizeof(owner)) < 0 || !body_ok(x))
		return;
	if (!gateway_is_uuid(id) || (n = cancel(d, id, owner)) == 0) {
		if (gateway_is_uuid(id) && gateway_job_status(d, id, owner, status, sizeof(status)) == 0) {
			snprintf(detail, sizeof(detail), "the job is %s; only unfinished jobs can be canceled", status);
			http_problem(x, 409, "conflict", "The job cannot be canceled now", detail, NULL);
		} else {
			http_problem(x, 404, "not-found", "No such job", "there is no job with this id", "id");
		}
		return;
	}
	if (n < 0 || !(body = job_view_render(d, id, owner, &found))) {
		http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
		return;
	}
	outbox_publish(d->outbox); /* the canceled event on reel.events */
	http_reply(x, 200, "application/json", body, strlen(body));
	free(body);
}
