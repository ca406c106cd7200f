/*
 * DESIGN: the encodes run on the thread pool and only touch two atomics of
 * their item; everything else happens on the loop in one timer callback,
 * between the worker's batch transactions, with the worker's own
 * connection (no transaction is open there). The progress rows are one
 * INSERT for every job that moved; the cancel check is one SELECT. The
 * timer is unreferenced, so an idle worker shuts down as before.
 */
#include "merge_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "db.h"
#include "log.h"
#include "monotime.h"
#include "str.h"
#include "worker.h"
#include "banned.h"

#define TICK_MS 250 /* how often encodes are looked at */
#define GAP_MS 500  /* between two progress rows of a job: at most two a second, late ticks or not */

static struct merge_watch_item *items;
static struct worker *worker;
static uv_timer_t timer;

void merge_watch_progress(void *arg, double fraction)
{
	struct merge_watch_item *it = arg;

	atomic_store(&it->permille, (int)(fraction * 1000));
}

void merge_watch_settle(struct merge_watch_item *it)
{
	uint64_t at = atomic_load(&it->written_ms), now = monotime_ms();

	if (at && now - at < GAP_MS)
		usleep((useconds_t)(GAP_MS - (now - at)) * 1000);
}

bool merge_watch_finished(const struct merge_watch_item *it)
{
	return it->reported == 100;
}

void merge_watch_add(struct merge_watch_item *it, const char *job)
{
	str_copy(it->job, job, sizeof(it->job));
	atomic_store(&it->permille, 0);
	atomic_store(&it->cancel, 0);
	it->reported = -1;
	atomic_store(&it->written_ms, 0);
	it->next = items;
	items = it;
}

void merge_watch_remove(struct merge_watch_item *it)
{
	for (struct merge_watch_item **pp = &items; *pp; pp = &(*pp)->next)
		if (*pp == it) {
			*pp = it->next;
			return;
		}
}

static void write_progress(struct db *db)
{
	static const char sql[] = "INSERT INTO job_events (job_id, kind, detail) "
				  "SELECT u.id, 'progress', jsonb_build_object('stage', 'merge', 'percent', u.p) "
				  "FROM unnest($1::uuid[], $2::bigint[]) AS u(id, p)";
	const char *ids[64];
	int64_t pct[64];
	size_t n = 0;

	uint64_t now = monotime_ms();

	for (struct merge_watch_item *it = items; it && n < 64; it = it->next) {
		int p = atomic_load(&it->permille) / 10;

		if (p != it->reported && now - atomic_load(&it->written_ms) >= GAP_MS) {
			it->reported = p;
			atomic_store(&it->written_ms, now);
			ids[n] = it->job;
			pct[n++] = p;
		}
	}
	if (n == 0)
		return;
	char *a = db_text_array(ids, n), *b = db_int_array(pct, n);
	const char *params[] = { a, b };
	if (db_run(db, sql, 2, params) < 0)
		log_warn("could not record merge progress: %s", db_last_error(db));
	free(a);
	free(b);
}

static void check_canceled(struct db *db)
{
	static const char sql[] = "SELECT u.id FROM unnest($1::uuid[]) AS u(id) JOIN jobs j ON j.id = u.id "
				  "WHERE j.status <> 'merging'";
	const char *ids[64];
	size_t n = 0;
	PGresult *r;

	for (struct merge_watch_item *it = items; it && n < 64; it = it->next)
		ids[n++] = it->job;
	char *a = db_text_array(ids, n);
	const char *params[] = { a };
	r = db_exec(db, sql, 1, params);
	free(a);
	for (int row = 0; r && row < PQntuples(r); row++)
		for (struct merge_watch_item *it = items; it; it = it->next)
			if (strcasecmp(it->job, PQgetvalue(r, row, 0)) == 0 && !atomic_exchange(&it->cancel, 1))
				log_info("job %s left merging; stopping its encode", it->job);
	PQclear(r);
}

static void on_tick(uv_timer_t *t)
{
	struct db *db = worker_db(worker);

	(void)t;
	if (!items || !db_ok(db))
		return;
	write_progress(db);
	check_canceled(db);
}

void merge_watch_stop(void)
{
	for (struct merge_watch_item *it = items; it; it = it->next) {
		int running = 0;

		if (atomic_compare_exchange_strong(&it->cancel, &running, MERGE_WATCH_SHUTDOWN))
			log_info("shutting down; stopping the encode of job %s (its message is redelivered)", it->job);
	}
	if (worker)
		uv_close((uv_handle_t *)&timer, NULL);
	worker = NULL;
}

void merge_watch_start(struct worker *w)
{
	worker = w;
	uv_timer_init(uv_default_loop(), &timer);
	uv_timer_start(&timer, on_tick, TICK_MS, TICK_MS);
	uv_unref((uv_handle_t *)&timer);
}
