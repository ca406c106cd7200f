/*
 * POST /v1/jobs and GET /v1/jobs/{id}.
 */
#include "jobs_api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing.h"
#include "billing_checkout.h"
#include "cost_estimate.h"
#include "credits.h"
#include "db.h"
#include "envelope.h"
#include "events.h"
#include "gateway.h"
#include "http_server.h"
#include "idempotency.h"
#include "identity.h"
#include "inflight.h"
#include "job_cache.h"
#include "job_request.h"
#include "job_view.h"
#include "json.h"
#include "ledger.h"
#include "live.h"
#include "live_api.h"
#include "log.h"
#include "monotime.h"
#include "outbox.h"
#include "retention.h"
#include "str.h"
#include "uploads.h"
#include "uuid.h"
#include "webhook.h"
#include "banned.h"

struct pending_create {
	struct http_exchange *x; /* NULL once the client went away */
	struct job_request rq;
	char trace[33];
	char id[ENVELOPE_ID_MAX];
	char created_at[32];
	char owner[GATEWAY_OWNER_MAX];
	char *input_text, *options_text; /* the request as stored */
	long estimate;                   /* credits to reserve, -1 with billing off */
	char retention[24];              /* the plan's retention_days, "" for the fleet's */
	struct api_problem refusal;      /* why the commit refused it (402), status 0 if not */
	struct gateway *g;
	struct pending_create *next;
};

static void create_keyed(struct daemon *d, const char *owner, void *arg, struct api_answer *a);

static void on_client_gone(struct http_exchange *x, void *arg)
{
	struct pending_create *pc = arg;
	(void)x;
	pc->x = NULL;
}

static void pending_free(struct pending_create *pc)
{
	job_request_release(&pc->rq);
	free(pc->input_text);
	free(pc->options_text);
	free(pc);
}

static void enqueue(struct gateway *g, struct pending_create *pc)
{
	*g->pending_tail = pc;
	g->pending_tail = &pc->next;
}

/* Creates of owner waiting for this iteration's group commit. */
static long queued_for(const struct gateway *g, const char *owner)
{
	long n = 0;
	for (const struct pending_create *pc = g->pending; pc; pc = pc->next)
		n += !strcmp(pc->owner, owner);
	return n;
}

/* A create with an Idempotency-Key runs alone, in the transaction that
 * stores its answer; the rest join this iteration's group. */
static void proceed(struct pending_create *pc)
{
	struct http_exchange *x = pc->x;
	if (!http_header(http_request_of(x), "idempotency-key")) {
		enqueue(pc->g, pc);
		return;
	}
	http_on_abort(x, NULL, NULL);
	idempotency_run(x, pc->g->d, pc->owner, create_keyed, pc);
	pending_free(pc);
}

/* A webhook_url that parses and does not reach a private address joins the
 * group; one that does not resolve now is accepted (the sender checks again). */
static void on_webhook_checked(void *arg, enum webhook_addr_result res, const char *ip, const char *why)
{
	struct pending_create *pc = arg;
	(void)ip;
	if (!pc->x) {
		pending_free(pc);
		return;
	}
	if (res == WEBHOOK_ADDR_REFUSED) {
		http_on_abort(pc->x, NULL, NULL);
		http_problem(pc->x, 422, "invalid-field", "A field is invalid", why, "options.webhook_url");
		pending_free(pc);
		return;
	}
	proceed(pc);
}

/* With billing on: the owner's plan (its monthly grant made when due) once
 * the job is within it, with the job's estimate and retention set; NULL
 * after answering (403 plan-limit, 503). */
static const struct billing_plan *billing_check(struct http_exchange *x, struct daemon *d, struct pending_create *pc,
						struct api_problem *p)
{
	struct credits_account acct;
	if (credits_seen(d, pc->owner, &acct) < 0) {
		daemon_db_lost(d);
		http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
		return NULL;
	}
	if (cost_estimate_limits(acct.plan, pc->rq.options, p) < 0) {
		api_problem_send(x, p);
		return NULL;
	}
	long shots = cost_estimate_shots(pc->rq.options);
	pc->estimate = cost_estimate(d->billing, pc->rq.options, shots, shots, true);
	if (acct.plan->retention_days > 0)
		snprintf(pc->retention, sizeof(pc->retention), "%ld", acct.plan->retention_days);
	return acct.plan;
}

void jobs_api_create(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	struct gateway *g = d->app;
	struct http_request *rq = http_request_of(x);
	struct pending_create *pc = xcalloc(1, sizeof(*pc));
	struct api_problem p;
	pc->estimate = -1;

	if (identity_authenticate(x, g, pc->owner, sizeof(pc->owner)) < 0) {
		free(pc);
		return;
	}
	if (job_request_parse(rq->body, rq->body_len, &pc->rq, &p) < 0) {
		api_problem_send(x, &p);
		free(pc);
		return;
	}
	if (uploads_check_music(d, pc->owner, pc->rq.options, &p) < 0) {
		api_problem_send(x, &p);
		pending_free(pc);
		return;
	}
	const struct billing_plan *plan = NULL;
	if (d->billing && (plan = billing_check(x, d, pc, &p)) == NULL) {
		pending_free(pc);
		return;
	}
	if (inflight_check(x, g, pc->owner, queued_for(g, pc->owner), plan) < 0) {
		pending_free(pc);
		return;
	}
	pc->g = g;
	pc->x = x;
	str_random_hex(pc->trace, 16);
	http_on_abort(x, on_client_gone, pc);
	const char *hook = json_str(pc->rq.options, "webhook_url");
	if (hook)
		webhook_addr_resolve(d->loop, hook, g->cfg.allow_private_webhooks, on_webhook_checked, pc);
	else
		proceed(pc);
}

/* Inserts every pending job with one statement; ids come back in order. */
static int insert_jobs(struct daemon *d, struct pending_create *list, size_t n)
{
	static const char sql[] =
		"INSERT INTO jobs (owner, template, input, options, trace, retention_days) "
		"SELECT o, t, i::jsonb, p::jsonb, tr, rd FROM unnest($1::text[], $2::text[], $3::text[], "
		"$4::text[], $5::text[], $6::int[]) WITH ORDINALITY AS u(o, t, i, p, tr, rd, n) ORDER BY n "
		"RETURNING id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
	const char **cols[6];
	char *arrays[6];
	size_t k = 0;
	int rc = -1;
	for (int c = 0; c < 6; c++)
		cols[c] = xmalloc(n * sizeof(char *));
	for (struct pending_create *pc = list; pc; pc = pc->next, k++) {
		cols[0][k] = pc->owner;
		cols[1][k] = pc->rq.template;
		cols[2][k] = pc->input_text = json_print(pc->rq.input);
		cols[3][k] = pc->options_text = json_print(pc->rq.options);
		cols[4][k] = pc->trace;
		cols[5][k] = pc->retention[0] ? pc->retention : NULL;
	}
	for (int c = 0; c < 6; c++)
		arrays[c] = db_text_array(cols[c], n);
	const char *params[] = { arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5] };
	PGresult *r = db_exec(d->db, sql, 6, params);
	if (r && (size_t)PQntuples(r) == n) {
		k = 0;
		for (struct pending_create *pc = list; pc; pc = pc->next, k++) {
			str_copy(pc->id, PQgetvalue(r, (int)k, 0), sizeof(pc->id));
			str_copy(pc->created_at, PQgetvalue(r, (int)k, 1), sizeof(pc->created_at));
		}
		rc = 0;
	}
	PQclear(r);
	for (int c = 0; c < 6; c++) {
		free(arrays[c]);
		free(cols[c]);
	}
	return rc;
}

static void announce(struct daemon *d, struct pending_create *pc)
{
	struct envelope env = { .shot = -1, .attempt = 1 };
	char value[256];
	str_copy(env.job, pc->id, sizeof(env.job));
	str_copy(env.trace, pc->trace, sizeof(env.trace));
	if (envelope_encode(&env, value, sizeof(value)) < 0)
		abort(); /* a uuid and a 32-char trace always fit */
	events_add(d->events, pc->id, -1, "queued", NULL);
	outbox_add(d->outbox, "parse", pc->id, value, NULL, NULL);
}

/* The job's first log line carries the trace every later stage logs with. */
static void log_created(const struct pending_create *pc)
{
	if (log__level > LOG_INFO)
		return;
	const struct log_ctx ctx = { pc->id, -1, pc->trace };
	log_set_ctx(&ctx);
	log_info("job created");
	log_set_ctx(NULL);
}

/* Drops the jobs whose reservation failed, in the create transaction:
 * they were never made. Their refusal says what their owner has. */
static int drop_refused(struct daemon *d, struct pending_create *list, const char **ids, size_t n)
{
	static const char sql[] = "DELETE FROM jobs WHERE id = ANY($1::uuid[])";
	char *arr = db_text_array(ids, n);
	const char *params[] = { arr };
	int rc = db_run(d->db, sql, 1, params);
	free(arr);
	for (struct pending_create *pc = list; rc == 0 && pc; pc = pc->next) {
		long available;
		if (pc->refusal.status && (rc = credits_available(d, pc->owner, &available)) == 0)
			api_problem_credits(&pc->refusal, pc->estimate, available);
	}
	return rc;
}

/* Reserves every job's estimate with one statement. */
static int reserve_group(struct daemon *d, struct pending_create *list, size_t n)
{
	const char **ids = xmalloc(n * sizeof(*ids)), **owners = xmalloc(n * sizeof(*owners));
	long *amounts = xmalloc(n * sizeof(*amounts));
	bool *ok = xmalloc(n * sizeof(*ok));
	size_t k = 0, refused = 0;
	for (struct pending_create *pc = list; pc; pc = pc->next, k++) {
		ids[k] = pc->id;
		owners[k] = pc->owner;
		amounts[k] = pc->estimate;
	}
	int rc = ledger_reserve(d->db, ids, owners, amounts, n, ok);
	k = 0;
	for (struct pending_create *pc = list; rc == 0 && pc; pc = pc->next, k++)
		if (!ok[k]) {
			pc->refusal.status = 402;
			ids[refused++] = pc->id;
		}
	if (rc == 0 && refused)
		rc = drop_refused(d, list, ids, refused);
	free(ids);
	free(owners);
	free(amounts);
	free(ok);
	return rc;
}

static int commit_group(struct daemon *d, struct pending_create *list)
{
	size_t n = 0;
	for (struct pending_create *pc = list; pc; pc = pc->next)
		n++;
	if (db_begin(d->db) < 0) {
		daemon_db_lost(d);
		return -1;
	}
	if (insert_jobs(d, list, n) < 0 || (d->billing && reserve_group(d, list, n) < 0)) {
		daemon_rollback(d);
		return -1;
	}
	for (struct pending_create *pc = list; pc; pc = pc->next)
		if (!pc->refusal.status)
			announce(d, pc);
	if (daemon_commit(d) < 0)
		return -1;
	outbox_publish(d->outbox);
	for (struct pending_create *pc = list; pc; pc = pc->next)
		if (!pc->refusal.status)
			log_created(pc);
	return 0;
}

static void answer(struct pending_create *pc, int ok)
{
	char *body, *location;
	if (!pc->x)
		return;
	http_on_abort(pc->x, NULL, NULL);
	if (!ok) {
		http_problem(pc->x, 503, "unavailable", "The job could not be stored",
			     "the database is not available; nothing was created, try again", NULL);
		return;
	}
	if (pc->refusal.status) {
		api_problem_send(pc->x, &pc->refusal);
		return;
	}
	body = job_view_new(pc->id, pc->rq.template, pc->rq.options, pc->created_at, pc->estimate);
	location = xasprintf("/v1/jobs/%s", pc->id);
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
		answer(pc, ok);
		pending_free(pc);
	}
}

/* A create with an Idempotency-Key runs alone, in the transaction that
 * also stores its answer (see idempotency.c). */
static void create_keyed(struct daemon *d, const char *owner, void *arg, struct api_answer *a)
{
	struct pending_create *pc = arg;
	(void)owner;
	if (insert_jobs(d, pc, 1) < 0) {
		api_problem_unavailable(&a->problem);
		return;
	}
	/* short of credits, the answer's problem rolls the insert back */
	if (d->billing && credits_reserve(d, pc->id, pc->owner, pc->estimate, &a->problem) != 1)
		return;
	announce(d, pc);
	a->status = 202;
	a->body = job_view_new(pc->id, pc->rq.template, pc->rq.options, pc->created_at, pc->estimate);
	a->location = xasprintf("/v1/jobs/%s", pc->id);
	str_copy(a->job_id, pc->id, sizeof(a->job_id));
}

static void on_stop(struct daemon *d)
{
	struct gateway *g = d->app;
	on_flush(&g->flush); /* answer what was accepted before stopping */
	uv_close((uv_handle_t *)&g->flush, NULL);
	live_api_stop(g); /* streams end before the server closes their connections */
	upload_sweep_stop(g);
	retention_stop(g->retention);
	g->retention = NULL;
	billing_checkout_stop(g);
	daemon_shutdown(d);
}

void jobs_api_start(struct daemon *d)
{
	struct gateway *g = d->app;
	g->d = d;
	if (!g->cfg.url_secret) {
		char secret[65];
		str_random_hex(secret, 32);
		g->cfg.url_secret = xstrdup(secret);
		log_warn("REEL_URL_SECRET is not set: download links use a key made at start, die with a "
			 "restart and work with this gateway only");
	}
	d->on_stop = on_stop;
	g->pending_tail = &g->pending;
	uv_check_init(d->loop, &g->flush);
	g->flush.data = g;
	uv_check_start(&g->flush, on_flush);
	g->retention = retention_start(g);
	if (live_api_start(g) < 0)
		log_error("live updates are off: event streams will only replay past events");
	upload_sweep_start(g);
}

/* Whether the cache may be read and filled for id: only while the LISTEN
 * connection follows every event, so that each change drops its entry, and
 * only for ids in PostgreSQL's spelling (lower case), the one events name. */
static bool cache_usable(struct gateway *g, const char *id)
{
	if (!g->cache || !g->live || strpbrk(id, "ABCDEF"))
		return false;
	live_prepare(g->live, g->d->db); /* starts following when nothing else did */
	return live_following(g->live);
}

void jobs_api_forget(struct gateway *g, const char *id)
{
	char lower[ENVELOPE_ID_MAX];
	size_t i;
	if (!g->cache)
		return;
	for (i = 0; id[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)id[i]);
	lower[i] = '\0';
	job_cache_drop(g->cache, lower);
}

void jobs_api_get(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	struct gateway *g = d->app;
	const char *id = http_request_of(x)->params[0];
	char owner[GATEWAY_OWNER_MAX];
	int found;
	char *body;
	const char *hit;
	size_t len;
	if (identity_authenticate(x, g, owner, sizeof(owner)) < 0)
		return;
	if (!uuid_valid(id)) {
		http_problem(x, 404, "not-found", "No such job", "job ids are UUIDs", "id");
		return;
	}
	bool cached = cache_usable(g, id);
	if (cached && (hit = job_cache_get(g->cache, id, owner, monotime_ms(), &len))) {
		http_reply(x, 200, "application/json", hit, len);
		return;
	}
	body = job_view_render(d, id, owner, &found);
	if (!body) {
		if (found == 0)
			http_problem(x, 404, "not-found", "No such job", "there is no job with this id", "id");
		else {
			daemon_db_lost(d); /* reconnects when it was the connection that failed */
			http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
		}
		return;
	}
	len = strlen(body);
	if (cached)
		job_cache_put(g->cache, id, owner, body, len, monotime_ms());
	http_reply(x, 200, "application/json", body, len);
	free(body);
}
