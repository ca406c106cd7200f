/*
 * Commit lanes (see lanes.h).
 *
 * DESIGN: each lane owns one libpq connection, used only by the thread-pool
 * thread that runs the lane's transaction, so connections need no locks. The
 * loop stages the transaction's events and outbox rows and builds their
 * statements before handing the lane over, and reads the results, publishes
 * and answers after it comes back: the events and outbox objects (whose
 * delivery callbacks run on the loop) are never touched off the loop. A lane
 * connects on its first transaction and after losing its connection, on its
 * thread, so the loop never waits for PostgreSQL here. The lanes' outboxes
 * delete their acknowledged rows through the daemon's own connection.
 */
#include "lanes.h"

#include <stdlib.h>

#include "daemon.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "outbox.h"
#include "banned.h"

struct slot {
	struct lane lane;         /* what the caller stages into */
	struct lanes *ls;
	struct db *db;            /* NULL until the first transaction connects */
	uv_work_t work;
	bool busy;
	bool ok;                  /* the transaction committed */
	lanes_work_fn fn;
	lanes_done_fn done;
	void *arg;
	struct db_stmt tail[3];   /* the staged events and outbox rows */
	size_t n_events, n_tail;
};

struct lanes {
	struct daemon *d;
	size_t n, busy;
	struct slot slots[];
};

struct lanes *lanes_new(struct daemon *d, size_t n)
{
	struct lanes *ls = xcalloc(1, sizeof(*ls) + n * sizeof(ls->slots[0]));
	ls->d = d;
	ls->n = n;
	for (size_t i = 0; i < n; i++) {
		struct slot *s = &ls->slots[i];
		s->ls = ls;
		s->work.data = s;
		s->lane.events = events_new();
		s->lane.outbox = outbox_new(d->loop, d->db, d->producer, d->cfg.topic_prefix);
	}
	return ls;
}

void lanes_free(struct lanes *ls)
{
	if (!ls)
		return;
	for (size_t i = 0; i < ls->n; i++) {
		struct slot *s = &ls->slots[i];
		outbox_free(s->lane.outbox);
		events_free(s->lane.events);
		db_free(s->db);
	}
	free(ls);
}

struct lane *lanes_take(struct lanes *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		if (!ls->slots[i].busy)
			return &ls->slots[i].lane;
	return NULL;
}

bool lanes_idle(const struct lanes *ls)
{
	return ls->busy == 0;
}

/* On the lane's thread: a usable connection, opened or restored. */
static int connect_slot(struct slot *s)
{
	char err[256];
	if (s->db && (db_ok(s->db) || db_reconnect(s->db) == 0))
		return 0;
	if (s->db)
		return -1; /* db_reconnect logged why */
	if (!(s->db = db_open(s->ls->d->cfg.database_url, err, sizeof(err))))
		return log_error("commit lane: %s", err);
	return 0;
}

static void on_work(uv_work_t *w)
{
	struct slot *s = w->data;
	s->ok = false;
	if (connect_slot(s) < 0 || db_begin(s->db) < 0)
		return;
	if (s->fn(s->db, s->arg) < 0) {
		db_rollback(s->db);
		return;
	}
	s->ok = db_pipeline_commit(s->db, s->tail, s->n_tail) == 0;
}

static void after_work(uv_work_t *w, int status)
{
	struct slot *s = w->data;
	struct lane *l = &s->lane;
	bool ok = s->ok && status == 0;
	if (ok) {
		events_written(l->events, s->n_events ? s->tail[0].result : NULL, l->outbox);
		outbox_written(l->outbox, s->tail + s->n_events, s->n_tail - s->n_events);
		for (size_t i = 0; i < s->n_tail; i++)
			PQclear(s->tail[i].result);
		outbox_publish(l->outbox);
	} else {
		events_discard(l->events);
		outbox_discard(l->outbox);
	}
	s->busy = false;
	s->ls->busy--;
	s->done(s->arg, ok);
}

void lanes_run(struct lanes *ls, struct lane *l, lanes_work_fn work, lanes_done_fn done, void *arg)
{
	struct slot *s = (struct slot *)l; /* the lane is a slot's first member */
	s->fn = work;
	s->done = done;
	s->arg = arg;
	s->n_events = (size_t)events_statement(l->events, &s->tail[0]);
	s->n_tail = s->n_events + outbox_statements(l->outbox, s->tail + s->n_events);
	s->busy = true;
	ls->busy++;
	if (uv_queue_work(ls->d->loop, &s->work, on_work, after_work) != 0)
		abort(); /* only fails for a NULL callback */
}
