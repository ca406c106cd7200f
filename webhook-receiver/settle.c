/*
 * DESIGN: callbacks and the sweeper's polls are settled in batches, because
 * a commit per callback (an fsync each) would cap the receiver at a few
 * hundred callbacks a second. settle_task queues an item; a uv_check handle,
 * which runs once per loop iteration after I/O, takes up to SETTLE_MAX of
 * them: one statement looks all their tasks up; items whose task is open
 * and whose vendor succeeded go on to download (finish.c, a transaction of
 * their own once the output is stored); the rest are settled in one
 * transaction: their receipts in one statement (a conflict is a replay),
 * and the failure path for open tasks whose vendor failed. A failed batch
 * answers 503 to each item, which the vendors deliver again.
 */
#include "settle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "finishing.h"
#include "log.h"
#include "outbox.h"
#include "receiver.h"
#include "str.h"
#include "banned.h"

#define SETTLE_MAX 256

void settle_task(struct receiver *rc, const char *provider, const char *delivery_id, struct vendor_result *res,
		 finish_done_fn done, void *arg)
{
	struct finishing *f = xcalloc(1, sizeof(*f));
	f->rc = rc;
	str_copy(f->provider, provider, sizeof(f->provider));
	f->delivery_id = delivery_id ? xstrdup(delivery_id) : NULL;
	f->res = *res;
	*res = (struct vendor_result){ 0 };
	f->done = done;
	f->arg = arg;
	*rc->queue_tail = f;
	rc->queue_tail = &f->next;
}

static void take_task(struct finishing *f, PGresult *r, int row, const struct vendors *v)
{
	const char *motion = PQgetvalue(r, row, 6);
	f->open = strcmp(PQgetvalue(r, row, 4), "submitted") == 0;
	str_copy(f->job, PQgetvalue(r, row, 1), sizeof(f->job));
	f->shot = atoi(PQgetvalue(r, row, 2));
	str_copy(f->kind, PQgetvalue(r, row, 3), sizeof(f->kind));
	str_copy(f->trace, PQgetvalue(r, row, 5), sizeof(f->trace));
	f->more = strcmp(f->kind, "image") == 0 && strcmp(motion, "i2v") == 0 && vendors_has_i2v(v, f->provider);
}

/* Marks the items whose task is open; -1 on a failed statement. */
static int look_up(struct receiver *rc, struct finishing **items, size_t n)
{
	static const char sql[] =
		"SELECT u.n, p.job_id, p.shot, p.kind, p.status, j.trace, coalesce(j.options->>'motion', '') "
		"FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(provider, ext, n) "
		"JOIN provider_tasks p ON p.provider = u.provider AND p.external_id = u.ext JOIN jobs j ON j.id = p.job_id";
	const char **providers = xmalloc(n * sizeof(*providers)), **ids = xmalloc(n * sizeof(*ids));
	for (size_t i = 0; i < n; i++) {
		providers[i] = items[i]->provider;
		ids[i] = items[i]->res.id;
	}
	char *params[2] = { db_text_array(providers, n), db_text_array(ids, n) };
	PGresult *r = db_exec(rc->d->db, sql, 2, (const char *const *)params);
	for (int row = 0; r && row < PQntuples(r); row++) {
		long k = atol(PQgetvalue(r, row, 0));
		if (k >= 1 && (size_t)k <= n)
			take_task(items[k - 1], r, row, rc->v);
	}
	free(params[0]);
	free(params[1]);
	free(providers);
	free(ids);
	PQclear(r);
	return r ? 0 : -1;
}

/* Records the receipts of items in one statement; fresh[i] says whether
 * item i's delivery is new (items without a delivery id count as new). */
static int receipts(struct receiver *rc, struct finishing **items, size_t n, bool *fresh)
{
	static const char sql[] =
		"INSERT INTO webhook_receipts (provider, delivery_id) "
		"SELECT * FROM unnest($1::text[], $2::text[]) AS u(provider, id) WHERE u.id IS NOT NULL "
		"ON CONFLICT DO NOTHING RETURNING provider, delivery_id";
	const char **providers = xmalloc(n * sizeof(*providers)), **ids = xmalloc(n * sizeof(*ids));
	for (size_t i = 0; i < n; i++) {
		providers[i] = items[i]->provider;
		ids[i] = items[i]->delivery_id;
		fresh[i] = !items[i]->delivery_id;
	}
	char *params[2] = { db_text_array(providers, n), db_text_array(ids, n) };
	PGresult *r = db_exec(rc->d->db, sql, 2, (const char *const *)params);
	/* A delivery sent twice within one batch is inserted once: only its first item is fresh. */
	for (int row = 0; r && row < PQntuples(r); row++)
		for (size_t i = 0; i < n; i++)
			if (!fresh[i] && strcmp(items[i]->provider, PQgetvalue(r, row, 0)) == 0 &&
			    strcmp(items[i]->delivery_id, PQgetvalue(r, row, 1)) == 0) {
				fresh[i] = true;
				break;
			}
	free(params[0]);
	free(params[1]);
	free(providers);
	free(ids);
	PQclear(r);
	return r ? 0 : -1;
}

static bool settles_here(const struct finishing *f)
{
	/* Closed tasks, unknown ones and unfinished ones need only their receipt. */
	return !f->open || f->res.state == VENDOR_RUNNING;
}

/* The items that need only their receipt, in one transaction; each is ended. */
static void settle(struct receiver *rc, struct finishing **items, size_t n)
{
	bool *fresh = xcalloc(n, sizeof(*fresh));
	int rc_ = db_begin(rc->d->db) < 0 || receipts(rc, items, n, fresh) < 0 ? -1 : 0;
	if (rc_ < 0)
		daemon_rollback(rc->d);
	else if (daemon_commit(rc->d) < 0)
		rc_ = -1;
	else
		outbox_publish(rc->d->outbox);
	for (size_t i = 0; i < n; i++)
		finish__end(items[i], rc_ < 0 ? 503 : 200,
			    rc_ < 0    ? "database unavailable"
			    : fresh[i] ? "nothing to do"
				       : "replayed");
	free(fresh);
}

static void run_batch(struct receiver *rc)
{
	struct finishing *items[SETTLE_MAX], *quick[SETTLE_MAX];
	size_t n = 0, n_quick = 0;
	while (rc->queue && n < SETTLE_MAX) {
		items[n++] = rc->queue;
		rc->queue = rc->queue->next;
	}
	if (!rc->queue)
		rc->queue_tail = &rc->queue;
	if (look_up(rc, items, n) < 0) {
		for (size_t i = 0; i < n; i++)
			finish__end(items[i], 503, "database unavailable");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct finishing *f = items[i];
		if (settles_here(f))
			quick[n_quick++] = f;
		else if (f->res.state == VENDOR_SUCCEEDED && f->res.n_outputs > 0)
			finish__download(f);
		else
			finish__vendor_failed(f);
	}
	if (n_quick)
		settle(rc, quick, n_quick);
}

static void on_idle(uv_idle_t *h)
{
	(void)h; /* only keeps the loop from sleeping while a batch waits */
}

static void on_check(uv_check_t *h)
{
	struct receiver *rc = h->data;
	if (rc->queue && db_ok(rc->d->db))
		run_batch(rc);
	else if (rc->queue)
		daemon_db_lost(rc->d);
	if (rc->queue && db_ok(rc->d->db))
		uv_idle_start(&rc->settle_idle, on_idle);
	else
		uv_idle_stop(&rc->settle_idle);
}

void settle_start(struct receiver *rc)
{
	rc->queue_tail = &rc->queue;
	uv_check_init(rc->d->loop, &rc->settle_check);
	uv_idle_init(rc->d->loop, &rc->settle_idle);
	rc->settle_check.data = rc->settle_idle.data = rc;
	uv_check_start(&rc->settle_check, on_check);
}

void settle_stop(struct receiver *rc)
{
	while (rc->queue) {
		struct finishing *f = rc->queue;
		rc->queue = f->next;
		finish__end(f, 503, "shutting down");
	}
	uv_close((uv_handle_t *)&rc->settle_check, NULL);
	uv_close((uv_handle_t *)&rc->settle_idle, NULL);
}
