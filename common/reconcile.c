/*
 * DESIGN: the scan is one statement per stage that picks the overdue or
 * due-for-retry items (FOR UPDATE SKIP LOCKED, so it never waits on a worker's
 * transaction), clears their retry_at, stamps nudged_at so the deadline counts
 * again from now, and returns what each message needs; the messages are
 * staged in the outbox in the same transaction. A transaction-scoped advisory
 * lock keyed by the stage keeps the processes of one stage from scanning at
 * once; it is released by the COMMIT. Consumers are idempotent, so a message
 * that was only slow and is now sent twice costs a claim that finds nothing.
 */
#include "reconcile.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "daemon.h"
#include "db.h"
#include "envelope.h"
#include "log.h"
#include "outbox.h"
#include "str.h"
#include "banned.h"

/* Items re-published per scan: a backlog drains over a few ticks. */
#define SCAN_LIMIT "500"

static const char job_scan_sql[] =
	"WITH o AS (SELECT id, retry_attempt FROM jobs "
	"  WHERE status IN ('queued', 'parsing', 'producing', 'merging') AND status = ANY($2::text[]) "
	"  AND (retry_at <= now() OR (retry_at IS NULL AND "
	"       greatest(updated_at, nudged_at) < now() - make_interval(secs => $1::int))) "
	"  ORDER BY updated_at LIMIT " SCAN_LIMIT " FOR UPDATE SKIP LOCKED) "
	"UPDATE jobs j SET retry_at = NULL, retry_attempt = NULL, nudged_at = now() FROM o WHERE j.id = o.id "
	"RETURNING j.id, -1, j.trace, coalesce(o.retry_attempt, 1)";

/* A shot waiting on an asynchronous provider call (provider_tasks) within its
 * deadline is not overdue: its callback resumes it. */
static const char shot_scan_sql[] =
	"WITH o AS (SELECT s.job_id, s.idx, s.retry_attempt FROM shots s JOIN jobs j ON j.id = s.job_id "
	"  WHERE j.status = 'producing' AND s.status IN ('pending', 'rendering', 'rendered', 'voicing') "
	"  AND s.status = ANY($2::text[]) "
	"  AND (s.retry_at <= now() OR (s.retry_at IS NULL AND "
	"       greatest(s.updated_at, s.nudged_at) < now() - make_interval(secs => $1::int))) "
	"  AND NOT EXISTS (SELECT 1 FROM provider_tasks p WHERE p.job_id = s.job_id AND p.shot = s.idx "
	"                  AND p.stage = $3 AND p.status = 'submitted' AND p.deadline > now()) "
	"  ORDER BY s.updated_at LIMIT " SCAN_LIMIT " FOR UPDATE OF s SKIP LOCKED) "
	"UPDATE shots s SET retry_at = NULL, retry_attempt = NULL, nudged_at = now() FROM o, jobs j "
	"WHERE s.job_id = o.job_id AND s.idx = o.idx AND j.id = s.job_id "
	"RETURNING s.job_id, s.idx, j.trace, coalesce(o.retry_attempt, 1)";

static const char job_defer_sql[] =
	"UPDATE jobs SET retry_at = now() + make_interval(secs => $2::double precision / 1000), "
	"retry_attempt = $3::int WHERE id = $1::uuid";
static const char shot_defer_sql[] =
	"UPDATE shots SET retry_at = now() + make_interval(secs => $3::double precision / 1000), "
	"retry_attempt = $4::int WHERE job_id = $1::uuid AND idx = $2::int";

static const char lock_sql[] = "SELECT pg_try_advisory_xact_lock(hashtext('reel.reconcile.' || $1))";

/* Where a stage's items live and which of their states mean "this stage owes work". */
struct stage_rule {
	const char *stage;
	bool shots;           /* the item is a shot (else the job) */
	const char *statuses; /* text[] literal */
};

static const struct stage_rule rules[] = {
	{ "parse", false, "{queued,parsing}" },
	{ "render", true, "{pending,rendering}" },
	{ "tts", true, "{rendered,voicing}" },
	{ "merge", false, "{merging}" },
};

struct reconciler {
	struct daemon *d;
	const struct stage_rule *rule;
	char deadline[24];
	uv_timer_t timer;
};

static const struct stage_rule *rule_of(const char *stage)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (strcmp(rules[i].stage, stage) == 0)
			return &rules[i];
	return NULL;
}

static void stage_rows(struct reconciler *r, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		struct envelope env = { .shot = atoi(PQgetvalue(res, i, 1)), .attempt = atoi(PQgetvalue(res, i, 3)) };
		char value[256], key[96];
		str_copy(env.job, PQgetvalue(res, i, 0), sizeof(env.job));
		str_copy(env.trace, PQgetvalue(res, i, 2), sizeof(env.trace));
		if (envelope_encode(&env, value, sizeof(value)) < 0)
			continue; /* ids and traces are short: cannot happen */
		envelope_key(&env, key, sizeof(key));
		outbox_add(r->d->outbox, r->rule->stage, key, value, NULL, NULL);
	}
}

/* True when this process holds the stage's scan lock for the open transaction. */
static bool take_lock(struct reconciler *r)
{
	const char *params[] = { r->rule->stage };
	PGresult *res = db_exec(r->d->db, lock_sql, 1, params);
	bool got = res && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return got;
}

int reconcile_run(struct reconciler *r)
{
	const char *params[] = { r->deadline, r->rule->statuses, r->rule->stage };
	int n = -1;
	if (!db_ok(r->d->db) || db_begin(r->d->db) < 0)
		return -1;
	if (!take_lock(r)) {
		daemon_rollback(r->d);
		return 0;
	}
	PGresult *res = db_exec(r->d->db, r->rule->shots ? shot_scan_sql : job_scan_sql, r->rule->shots ? 3 : 2,
				params);
	if (res) {
		n = PQntuples(res);
		stage_rows(r, res);
		PQclear(res);
	}
	if (n < 0 || daemon_commit(r->d) < 0) {
		daemon_rollback(r->d);
		return -1;
	}
	outbox_publish(r->d->outbox);
	if (n > 0)
		log_info("reconciler: re-published %d %s message(s) (overdue or due for retry)", n, r->rule->stage);
	return n;
}

static void on_tick(uv_timer_t *t)
{
	struct reconciler *r = t->data;
	if (r->d->stopping)
		return;
	/* With no messages coming (the broker lost them), this tick may be the
	 * only user of the connection: it starts the reconnect itself. */
	if (reconcile_run(r) < 0 && !db_ok(r->d->db))
		daemon_db_lost(r->d);
}

struct reconciler *reconcile_new(struct daemon *d, const char *stage, long deadline_s, long interval_ms)
{
	const struct stage_rule *rule = rule_of(stage);
	if (!rule)
		return NULL;
	struct reconciler *r = xcalloc(1, sizeof(*r));
	r->d = d;
	r->rule = rule;
	snprintf(r->deadline, sizeof(r->deadline), "%ld", deadline_s);
	uv_timer_init(d->loop, &r->timer);
	r->timer.data = r;
	uv_timer_start(&r->timer, on_tick, (uint64_t)interval_ms, (uint64_t)interval_ms);
	return r;
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

void reconcile_free(struct reconciler *r)
{
	if (r)
		uv_close((uv_handle_t *)&r->timer, on_closed);
}

int reconcile_defer(struct db *db, const char *stage, const char *job, int shot, int attempt, uint64_t delay_ms)
{
	const struct stage_rule *rule = rule_of(stage);
	char idx[16], delay[24], att[16];
	snprintf(idx, sizeof(idx), "%d", shot);
	snprintf(delay, sizeof(delay), "%llu", (unsigned long long)delay_ms);
	snprintf(att, sizeof(att), "%d", attempt);
	if (!rule)
		return log_error("reconcile_defer: %s is not a pipeline stage", stage);
	if (rule->shots) {
		const char *params[] = { job, idx, delay, att };
		return db_run(db, shot_defer_sql, 4, params);
	}
	const char *params[] = { job, delay, att };
	return db_run(db, job_defer_sql, 3, params);
}
