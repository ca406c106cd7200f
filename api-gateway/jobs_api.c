/*
 * POST /v1/jobs and GET /v1/jobs/{id}.
 */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "envelope.h"
#include "job_request.h"
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "outbox.h"
#include "banned.h"

struct pending_create {
	struct http_exchange *x; /* NULL once the client went away */
	struct job_request rq;
	char trace[33];
	char id[ENVELOPE_ID_MAX];
	struct pending_create *next;
};

static void send_problem(struct http_exchange *x, const struct api_problem *p)
{
	http_problem(x, p->status, p->type, p->title, p->detail, p->field[0] ? p->field : NULL);
}

static void on_client_gone(struct http_exchange *x, void *arg)
{
	struct pending_create *pc = arg;
	(void)x;
	pc->x = NULL;
}

void gateway_create_job(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	struct gateway *g = d->app;
	struct http_request *rq = http_request_of(x);
	struct pending_create *pc = xcalloc(1, sizeof(*pc));
	struct api_problem p;

	if (job_request_parse(rq->body, rq->body_len, &pc->rq, &p) < 0) {
		send_problem(x, &p);
		free(pc);
		return;
	}
	pc->x = x;
	random_hex(pc->trace, 16);
	http_on_abort(x, on_client_gone, pc);
	*g->pending_tail = pc;
	g->pending_tail = &pc->next;
}

static int insert_job(struct daemon *d, struct pending_create *pc)
{
	static const char sql[] = "INSERT INTO jobs (owner, template, input, options, trace) "
				  "VALUES ($1, $2, $3::jsonb, $4::jsonb, $5) RETURNING id";
	char *input = json_print(pc->rq.input), *options = json_print(pc->rq.options);
	const char *params[] = { "anonymous", pc->rq.template, input, options, pc->trace };
	struct envelope env = { .shot = -1, .attempt = 1 };
	char value[256];
	int rc = -1;
	PGresult *r = db_exec(d->db, sql, 5, params);
	if (r) {
		strlcpy_(pc->id, PQgetvalue(r, 0, 0), sizeof(pc->id));
		PQclear(r);
		strlcpy_(env.job, pc->id, sizeof(env.job));
		strlcpy_(env.trace, pc->trace, sizeof(env.trace));
		if (jobs_event(d->db, d->outbox, pc->id, -1, "queued", NULL) == 0 &&
		    envelope_encode(&env, value, sizeof(value)) > 0) {
			outbox_add(d->outbox, "parse", pc->id, value, NULL, NULL);
			rc = 0;
		}
	}
	free(input);
	free(options);
	return rc;
}

static int commit_group(struct daemon *d, struct pending_create *list)
{
	if (db_begin(d->db) < 0)
		return -1;
	for (struct pending_create *pc = list; pc; pc = pc->next)
		if (insert_job(d, pc) < 0)
			goto fail;
	if (outbox_write(d->outbox) < 0 || db_commit(d->db) < 0)
		goto fail;
	outbox_publish(d->outbox);
	return 0;
fail:
	db_rollback(d->db);
	outbox_discard(d->outbox);
	if (!db_ok(d->db))
		daemon_db_lost(d);
	return -1;
}

static void answer(struct daemon *d, struct pending_create *pc, int ok)
{
	char *body;
	int found;
	if (!pc->x)
		return;
	http_on_abort(pc->x, NULL, NULL);
	if (!ok) {
		http_problem(pc->x, 503, "unavailable", "The job could not be stored",
			     "the database is not available; nothing was created, try again", NULL);
		return;
	}
	body = job_view_render(d, pc->id, &found);
	if (!body) {
		char minimal[160];
		int n = snprintf(minimal, sizeof(minimal), "{\"id\":\"%s\",\"status\":\"queued\"}", pc->id);
		http_reply(pc->x, 202, "application/json", minimal, (size_t)n);
		return;
	}
	char *location = xasprintf("/v1/jobs/%s", pc->id);
	http_add_header(pc->x, "Location", location);
	http_reply(pc->x, 202, "application/json", body, strlen(body));
	free(location);
	free(body);
}

static void on_flush(uv_check_t *h)
{
	struct gateway *g = h->data;
	struct pending_create *list = g->pending, *next;
	if (!list)
		return;
	g->pending = NULL;
	g->pending_tail = &g->pending;
	int ok = commit_group(g->d, list) == 0;
	if (ok)
		log_debug("created a group of jobs in one transaction");
	for (struct pending_create *pc = list; pc; pc = next) {
		next = pc->next;
		answer(g->d, pc, ok);
		job_request_release(&pc->rq);
		free(pc);
	}
}

static void on_stop(struct daemon *d)
{
	struct gateway *g = d->app;
	on_flush(&g->flush); /* answer what was accepted before stopping */
	uv_close((uv_handle_t *)&g->flush, NULL);
	daemon_shutdown(d);
}

void gateway_start(struct daemon *d)
{
	struct gateway *g = d->app;
	g->d = d;
	d->on_stop = on_stop;
	g->pending_tail = &g->pending;
	uv_check_init(d->loop, &g->flush);
	g->flush.data = g;
	uv_check_start(&g->flush, on_flush);
}

static int is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
			return 0;
		}
	}
	return 1;
}

void gateway_get_job(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	const char *id = http_request_of(x)->params[0];
	int found;
	char *body;
	if (!is_uuid(id)) {
		http_problem(x, 404, "not-found", "No such job", "job ids are UUIDs", "id");
		return;
	}
	body = job_view_render(d, id, &found);
	if (!body) {
		if (found == 0)
			http_problem(x, 404, "not-found", "No such job", "there is no job with this id", "id");
		else
			http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
		return;
	}
	http_reply(x, 200, "application/json", body, strlen(body));
	free(body);
}
