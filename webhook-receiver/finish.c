/*
 * DESIGN: finishing a vendor task whose output is ready (settle.c found it
 * open) is a chain on the loop: download, check and store the output under a
 * key unique to the task (fetch.c; the store runs on the thread pool) -> one
 * transaction:
 * the delivery's receipt, the task done, the shot advanced by a conditional
 * update (rendered, or for an i2v keyframe back to render for its clip), the
 * event and the next stage's outbox row. Every step of that transaction is
 * conditional, so two deliveries racing each other advance a shot once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charge.h"
#include "db.h"
#include "envelope.h"
#include "events.h"
#include "fetch.h"
#include "finishing.h"
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "receiver.h"
#include "str.h"
#include "banned.h"

void finish__end(struct finishing *f, int status, const char *detail)
{
	f->done(f->arg, status, detail);
	vendors_result_release(&f->res);
	free(f->delivery_id);
	free(f);
}

/* Records the receipt; false when another delivery got there first. */
static bool receipt(struct receiver *rc, const char *provider, const char *delivery_id, bool *failed)
{
	static const char sql[] = "INSERT INTO webhook_receipts (provider, delivery_id) VALUES ($1, $2) "
				  "ON CONFLICT DO NOTHING";
	const char *params[] = { provider, delivery_id };
	if (!delivery_id)
		return true;
	PGresult *r = db_exec(rc->d->db, sql, 2, params);
	bool fresh = r && db_affected(r) == 1;
	*failed = !r;
	PQclear(r);
	return fresh;
}

void finish_emit(struct receiver *rc, const char *stage, const char *job, int shot, const char *trace)
{
	struct envelope env = { .shot = shot, .attempt = 1 };
	char value[256], key[96];
	str_copy(env.job, job, sizeof(env.job));
	str_copy(env.trace, trace, sizeof(env.trace));
	if (envelope_encode(&env, value, sizeof(value)) < 0)
		abort(); /* ids come from our own rows and are short */
	envelope_key(&env, key, sizeof(key));
	outbox_add(rc->d->outbox, stage, key, value, NULL, NULL);
}

/* Runs body inside a transaction and commits; the HTTP status for the vendor. */
static int transact(struct receiver *rc, int (*body)(struct finishing *f), struct finishing *f)
{
	if (db_begin(rc->d->db) < 0)
		return 503;
	int rc_body = body(f);
	if (rc_body < 0) {
		daemon_rollback(rc->d);
		return 503;
	}
	if (daemon_commit(rc->d) < 0)
		return 503;
	outbox_publish(rc->d->outbox);
	return 200;
}

/* A failure the shot may try again: the task waits as 'retry' until the
 * sweeper sends the shot back to render-worker after the backoff. */
static int schedule_retry(struct receiver *rc, PGresult *task, const char *error, long attempts)
{
	static const char sql[] = "UPDATE provider_tasks SET status = 'retry', error = $2::jsonb, updated_at = now(), "
				  "deadline = now() + $3::bigint * interval '1 millisecond' WHERE id = $1";
	static const char shot_sql[] = "UPDATE shots SET error = $3::jsonb, updated_at = now() "
				       "WHERE job_id = $1 AND idx = $2 AND status = 'rendering'";
	const char *job = PQgetvalue(task, 0, 1), *shot = PQgetvalue(task, 0, 2);
	char wait[24], *detail;
	snprintf(wait, sizeof(wait), "%llu", (unsigned long long)retry_backoff_ms(&rc->retry, attempts));
	if (db_run(rc->d->db, sql, 3, (const char *const[]){ PQgetvalue(task, 0, 0), error, wait }) < 0 ||
	    db_run(rc->d->db, shot_sql, 3, (const char *const[]){ job, shot, error }) < 0)
		return -1;
	detail = xasprintf("{\"attempt\":%ld,\"wait_ms\":%s,\"error\":%s}", attempts, wait, error);
	events_add(rc->d->events, job, atoi(shot), "retrying", detail);
	free(detail);
	return 0;
}

int finish_fail(struct receiver *rc, const char *provider, const char *external_id, const char *code,
		const char *message, bool retryable)
{
	static const char sql[] =
		"SELECT p.id, p.job_id, p.shot, s.attempts FROM provider_tasks p JOIN shots s "
		"ON s.job_id = p.job_id AND s.idx = p.shot WHERE p.provider = $1 AND p.external_id = $2 "
		"AND p.status = 'submitted' FOR UPDATE OF p";
	static const char failed_sql[] = "UPDATE provider_tasks SET status = 'failed', error = $2::jsonb, "
					 "updated_at = now() WHERE id = $1";
	PGresult *r = db_exec(rc->d->db, sql, 2, (const char *const[]){ provider, external_id });
	int rc_ = 0;
	if (!r || PQntuples(r) == 0) { /* already finished by another delivery */
		PQclear(r);
		return r ? 0 : -1;
	}
	long attempts = atol(PQgetvalue(r, 0, 3));
	char *error = jobs_error_json("render", code, message, retryable);
	log_warn("render task %s/%s failed (attempt %ld of %ld): %s", provider, external_id, attempts,
		 rc->retry.max_attempts, message);
	metrics_add(rc->m_failed, 1);
	if (retryable && retry_allowed(&rc->retry, attempts))
		rc_ = schedule_retry(rc, r, error, attempts);
	else if (db_run(rc->d->db, failed_sql, 2, (const char *const[]){ PQgetvalue(r, 0, 0), error }) < 0 ||
		 jobs_pause_for_shot(rc->d->db, rc->d->events, PQgetvalue(r, 0, 1), atoi(PQgetvalue(r, 0, 2)), "render",
				     code, message) < 0)
		rc_ = -1;
	free(error);
	PQclear(r);
	return rc_;
}

static int fail_body(struct finishing *f)
{
	bool failed = false;
	if (!receipt(f->rc, f->provider, f->delivery_id, &failed))
		return failed ? -1 : 0;
	return finish_fail(f->rc, f->provider, f->res.id, f->code, f->message, f->retryable);
}

/* The stored keyframe (stage render) or clip (stage i2v), charged to its job. */
static int charge(struct finishing *f)
{
	const struct billing *b = f->rc->d->billing;
	struct ledger_charge c;
	if (!b)
		return 0;
	charge_set(&c, b, f->job, strcmp(f->kind, "video") == 0 ? "i2v" : "render", f->provider, f->shot, 1);
	return charge_kept(f->rc->d->db, f->rc->d->events, &c, 1);
}

static int done_body(struct finishing *f)
{
	static const char task_sql[] = "UPDATE provider_tasks SET status = 'done', error = NULL, updated_at = now() "
				       "WHERE provider = $1 AND external_id = $2 AND status = 'submitted'";
	static const char shot_sql[] =
		"UPDATE shots s SET image_key = CASE WHEN $3 = 'image' THEN $4 ELSE s.image_key END, "
		"video_key = CASE WHEN $3 = 'video' THEN $4 ELSE s.video_key END, "
		"status = CASE WHEN $5::bool THEN 'rendering' ELSE 'rendered' END, error = NULL, updated_at = now() "
		"FROM jobs j WHERE s.job_id = $1 AND s.idx = $2 AND s.status = 'rendering' AND j.id = s.job_id "
		"AND j.status NOT IN ('canceled', 'failed', 'done')";
	bool failed = false;
	char idx[16];
	if (!receipt(f->rc, f->provider, f->delivery_id, &failed))
		return failed ? -1 : 0;
	PGresult *r = db_exec(f->rc->d->db, task_sql, 2, (const char *const[]){ f->provider, f->res.id });
	long k = r ? db_affected(r) : -1;
	PQclear(r);
	if (k <= 0)
		return (int)k; /* -1 failed; 0: another delivery finished it */
	snprintf(idx, sizeof(idx), "%d", f->shot);
	r = db_exec(f->rc->d->db, shot_sql, 5,
		    (const char *const[]){ f->job, idx, f->kind, f->key, f->more ? "t" : "f" });
	k = r ? db_affected(r) : -1;
	PQclear(r);
	if (k == 1) {
		events_add(f->rc->d->events, f->job, f->shot, f->more ? "keyframe" : "rendered", NULL);
		finish_emit(f->rc, f->more ? "render" : "tts", f->job, f->shot, f->trace);
	}
	return k == 1 ? charge(f) : k < 0 ? -1 : 0;
}

/* The failure path, in a transaction of its own; ends f. */
static void fail_task(struct finishing *f, const char *code, const char *message, bool retryable)
{
	f->code = code;
	f->message = message;
	f->retryable = retryable;
	finish__end(f, transact(f->rc, fail_body, f), message);
}

static void on_fetched(const struct fetch_result *fr, void *arg)
{
	struct finishing *f = arg;
	if (fr->unstored) { /* the output is fine: the vendor delivers again */
		finish__end(f, 503, fr->error);
		return;
	}
	if (fr->ok < 0) {
		/* A refused output (too large, not media, unreadable) or a failed download. */
		fail_task(f, fr->retryable ? "download_failed" : "output_refused", fr->error, fr->retryable);
		return;
	}
	f->key = fr->key;
	int status = transact(f->rc, done_body, f);
	if (status == 200)
		metrics_add(f->rc->m_finished, 1);
	finish__end(f, status, status == 200 ? "finished" : "database unavailable");
}

/* A key per task: a late delivery of an older task never overwrites a newer file. */
void finish__download(struct finishing *f)
{
	char stem[192], safe_id[64];
	size_t n = 0;
	for (const char *p = f->res.id; *p && n < sizeof(safe_id) - 1; p++)
		safe_id[n++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", *p) ? *p
													      : '_';
	safe_id[n] = '\0';
	snprintf(stem, sizeof(stem), "jobs/%s/shot-%d-%s", f->job, f->shot, safe_id);
	fetch_start(f->rc, f->res.outputs[0], strcmp(f->kind, "video") == 0, stem, on_fetched, f);
}

void finish__vendor_failed(struct finishing *f)
{
	if (f->res.state == VENDOR_CANCELED)
		fail_task(f, "provider_canceled", "the vendor canceled the task", true);
	else
		fail_task(f, "render_failed",
			  f->res.error[0] ? f->res.error : "the vendor's task ended without an output", true);
}
