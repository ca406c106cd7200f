/*
 * DESIGN: the sweep runs on the libuv thread pool with a PostgreSQL
 * connection of its own, so neither storage deletes nor row locks ever wait
 * on the loop. Each job is one transaction: its row is claimed with FOR
 * UPDATE SKIP LOCKED (another gateway sweeping at once takes other jobs),
 * its files are deleted with storage_delete (a missing file is no error, so
 * a sweep cut short is simply redone), and the row is marked expired before
 * COMMIT. A failed delete rolls the job back and ends the sweep until the
 * next tick. At most one sweep per gateway is in flight.
 */
#include "retention.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "db.h"
#include "gateway.h"
#include "json.h"
#include "log.h"
#include "storage.h"
#include "banned.h"

#define SWEEP_BATCH 100 /* jobs per sweep at most, so one sweep never runs for long */

struct retention {
	struct gateway *g;
	uv_timer_t timer;
	uv_work_t work;
	struct db *db; /* the sweep's own connection, used on the pool thread only */
	bool busy;     /* a sweep is on the thread pool */
	bool stopping; /* freed once the timer closed and no sweep is in flight */
	bool timer_closed;
	int expired;     /* jobs the last sweep expired (both kinds) */
	char error[256]; /* why the last sweep stopped early, or "" */
};

/* Keys are JSON arrays built in SQL: the output's files and the shots'. */
#define SHOT_KEYS \
	"array_to_json(ARRAY(SELECT k FROM shots s, unnest(ARRAY[s.image_key, s.video_key, s.audio_key]) k " \
	"WHERE s.job_id = jobs.id AND k IS NOT NULL))::text"
#define OUTPUT_KEYS \
	"array_to_json(ARRAY(SELECT output->>f FROM unnest(ARRAY['video_key', 'poster_key', 'srt_key', " \
	"'vtt_key', 'manifest_key']) f WHERE output->>f IS NOT NULL))::text"
/* A job's age limit is the fleet's ($1 seconds, 0 = kept) or its plan's
 * retention_days ($2 seconds a day) when that is sooner. */
#define DUE \
	"status IN ('done', 'failed', 'canceled') AND coalesce(finished_at, updated_at) < now() - " \
	"make_interval(secs => CASE WHEN retention_days IS NULL THEN nullif($1::bigint, 0) " \
	"WHEN $1::bigint = 0 THEN retention_days * $2::bigint ELSE least($1::bigint, retention_days * $2::bigint) END) " \
	"AND expired_at IS NULL"

/* One level of retention: which jobs are due, which files go, which mark is set. */
struct level {
	const char *claim; /* $1: age in seconds, $2: a day's; returns id, output keys, shot keys */
	const char *mark;  /* $1: the job id */
};

static const struct level whole = {
	"SELECT id, " OUTPUT_KEYS ", " SHOT_KEYS " FROM jobs WHERE " DUE
	" ORDER BY finished_at LIMIT 1 FOR UPDATE SKIP LOCKED",
	"UPDATE jobs SET expired_at = now(), shots_expired_at = coalesce(shots_expired_at, now()) WHERE id = $1",
};
static const struct level shots_only = {
	"SELECT id, '[]', " SHOT_KEYS " FROM jobs WHERE " DUE " AND shots_expired_at IS NULL"
	" ORDER BY finished_at LIMIT 1 FOR UPDATE SKIP LOCKED",
	"UPDATE jobs SET shots_expired_at = now() WHERE id = $1",
};

/* Deletes every key of the JSON array text keys: 0, or -1 with r->error. */
static int delete_keys(struct retention *r, const char *keys)
{
	cJSON *arr = cJSON_Parse(keys), *k;
	int rc = 0;
	char why[200];
	cJSON_ArrayForEach (k, arr) {
		if (cJSON_IsString(k) && storage_delete(r->g->d->storage, k->valuestring, why, sizeof(why)) < 0) {
			snprintf(r->error, sizeof(r->error), "cannot delete %s: %s", k->valuestring, why);
			rc = -1;
			break;
		}
	}
	cJSON_Delete(arr);
	return rc;
}

/* Expires one due job of lv older than age: 1 done, 0 none due, -1 with r->error. */
static int sweep_one(struct retention *r, const struct level *lv, const char *age, const char *day)
{
	const char *params[] = { age, day };
	if (db_begin(r->db) < 0) {
		snprintf(r->error, sizeof(r->error), "BEGIN: %s", db_last_error(r->db));
		return -1;
	}
	PGresult *res = db_exec(r->db, lv->claim, 2, params);
	if (!res || PQntuples(res) == 0) {
		if (!res)
			snprintf(r->error, sizeof(r->error), "claim: %s", db_last_error(r->db));
		PQclear(res);
		db_rollback(r->db);
		return res ? 0 : -1;
	}
	int rc = delete_keys(r, PQgetvalue(res, 0, 1));
	if (rc == 0)
		rc = delete_keys(r, PQgetvalue(res, 0, 2));
	struct db_stmt mark = { lv->mark, 1, { PQgetvalue(res, 0, 0) }, NULL };
	if (rc == 0 && db_pipeline_commit(r->db, &mark, 1) == 0) {
		PQclear(mark.result);
		PQclear(res);
		return 1;
	}
	if (rc == 0)
		snprintf(r->error, sizeof(r->error), "marking the job expired: %s", db_last_error(r->db));
	else
		db_rollback(r->db);
	PQclear(res);
	return -1;
}

/* Runs lv's sweep for jobs older than secs (0 = only jobs with a plan's
 * retention, with billing on; else off); 0, or -1 with r->error. */
static int sweep_level(struct retention *r, const struct level *lv, long long secs)
{
	char age[24], day[24];
	int rc = 1;
	if (secs <= 0 && !r->g->d->billing)
		return 0;
	snprintf(age, sizeof(age), "%lld", secs > 0 ? secs : 0);
	snprintf(day, sizeof(day), "%ld", r->g->cfg.retention_day_s);
	while (r->expired < SWEEP_BATCH && (rc = sweep_one(r, lv, age, day)) == 1)
		r->expired++;
	return rc < 0 ? -1 : 0;
}

static void sweep(uv_work_t *req)
{
	struct retention *r = req->data;
	const struct gateway_config *c = &r->g->cfg;
	char err[200];
	r->expired = 0;
	r->error[0] = '\0';
	if (!r->db && !(r->db = db_open(r->g->d->cfg.database_url, err, sizeof(err)))) {
		snprintf(r->error, sizeof(r->error), "cannot connect: %s", err);
		return;
	}
	if (!db_ok(r->db) && db_reconnect(r->db) < 0) {
		snprintf(r->error, sizeof(r->error), "cannot reconnect: %s", db_last_error(r->db));
		return;
	}
	if (sweep_level(r, &whole, (long long)c->retention_days * c->retention_day_s) == 0)
		(void)sweep_level(r, &shots_only, (long long)c->retention_intermediate_days * c->retention_day_s);
}

static void free_if_done(struct retention *r)
{
	if (r->stopping && r->timer_closed && !r->busy) {
		db_free(r->db);
		free(r);
	}
}

static void after_sweep(uv_work_t *req, int status)
{
	struct retention *r = req->data;
	(void)status;
	r->busy = false;
	if (r->expired)
		log_info("retention: expired the media of %d jobs", r->expired);
	if (r->error[0])
		log_error("retention: the sweep stopped: %s", r->error);
	free_if_done(r);
}

static void on_tick(uv_timer_t *t)
{
	struct retention *r = t->data;
	if (r->busy)
		return;
	r->busy = true;
	r->work.data = r;
	uv_queue_work(r->g->d->loop, &r->work, sweep, after_sweep);
}

struct retention *retention_start(struct gateway *g)
{
	const struct gateway_config *c = &g->cfg;
	if (c->retention_days == 0 && c->retention_intermediate_days == 0 && !g->d->billing)
		return NULL; /* with billing on, a plan's retention_days may expire a job */
	struct retention *r = xcalloc(1, sizeof(*r));
	r->g = g;
	uv_timer_init(g->d->loop, &r->timer);
	r->timer.data = r;
	uv_timer_start(&r->timer, on_tick, 0, (uint64_t)c->retention_sweep_s * 1000);
	log_info("retention: media kept %ld days, shot media %ld days (a day is %ld s), swept every %ld s",
		 c->retention_days, c->retention_intermediate_days, c->retention_day_s, c->retention_sweep_s);
	return r;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct retention *r = h->data;
	r->timer_closed = true;
	free_if_done(r);
}

void retention_stop(struct retention *r)
{
	if (!r)
		return;
	r->stopping = true;
	uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}
