/*
 * TTS handler. The fan-in is one statement: the shot becoming ready and the
 * job's ready count rising happen together, and the transaction that makes
 * the count reach the total moves the job to merging and writes the merge
 * message, once however often a message is redelivered.
 */
#include "voice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "events.h"
#include "jobs.h"
#include "log.h"
#include "plugin.h"
#include "storage.h"
#include "tts.h"
#include "banned.h"

struct voice_data {
	char *text, *language, *voice;
	struct storage *storage;
	char key[128];
	struct tts_result res;
};

/* espeak-ng (and the FFmpeg resampler it uses) lives in the tts-worker
 * plugin, loaded only when narration is really spoken. */
static const struct tts_provider *provider;

static int init(struct worker *w, const char *name, char *err, size_t errlen)
{
	static const char *const symbols[] = { "tts_provider_espeak" };
	void *addrs[1];
	if (strcmp(name, "offline") != 0 && strcmp(name, "espeak") != 0)
		return errorf(err, errlen, "REEL_TTS_PROVIDER=%s: unknown provider (available: espeak, offline)", name);
	if (worker_skip_media(w))
		return 0;
	if (plugin_load("tts-worker", symbols, addrs, 1, err, errlen) < 0)
		return -1;
	provider = addrs[0];
	return 0;
}

static char *opt_copy(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : xstrdup(PQgetvalue(r, row, col));
}

static int take_row(struct worker *w, struct task *t, PGresult *r, int row);

static int claim(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] =
		"UPDATE shots s SET status = 'voicing', updated_at = now() "
		"FROM jobs j, unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS u(job_id, idx, n) "
		"WHERE s.job_id = u.job_id AND s.idx = u.idx AND j.id = s.job_id AND j.status = 'producing' "
		"AND s.status IN ('rendered', 'voicing') "
		"RETURNING u.n, s.narration, j.options->>'language', j.options->>'voice', s.est_duration_ms";
	/* Shots past narration, or whose job is not producing, are not claimed. */
	return worker_claim_rows(w, worker_query_tasks(w, sql, tasks, n, true, NULL, 0), tasks, n, take_row);
}

static int take_row(struct worker *w, struct task *t, PGresult *r, int row)
{
	struct voice_data *vd = xcalloc(1, sizeof(*vd));
	t->data = vd;
	t->claim = worker_skip_media(w) ? CLAIM_READY : CLAIM_WORK;
	vd->text = xstrdup(PQgetvalue(r, row, 1));
	vd->language = opt_copy(r, row, 2);
	vd->voice = opt_copy(r, row, 3);
	vd->storage = worker_storage(w);
	vd->res.duration_ms = atoll(PQgetvalue(r, row, 4)); /* the estimate stands when media is skipped */
	return 0;
}

static void work(struct task *t)
{
	struct voice_data *vd = t->data;
	const struct tts_request rq = { vd->text, vd->language, vd->voice };
	char *tmp = storage_temp(vd->storage, ".wav"), err[512];
	snprintf(vd->key, sizeof(vd->key), "jobs/%s/shot-%d.wav", t->env.job, t->env.shot);
	if (provider->synthesize(&rq, tmp, &vd->res, err, sizeof(err)) < 0)
		task_fail(t, "tts_failed", "the narration could not be spoken: %s", err);
	else if (storage_put(vd->storage, vd->key, tmp, err, sizeof(err)) < 0)
		task_fail(t, "storage_failed", "the narration could not be stored: %s", err);
	if (t->result != WORK_OK)
		unlink(tmp);
	free(tmp);
}

/* Marks the shots ready and counts them on their jobs, in one statement.
 * Rows: the task's ordinal, and whether its job now has every shot ready. */
static PGresult *mark_ready(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] =
		"WITH u AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[]) "
		"           WITH ORDINALITY AS u(job_id, idx, key, ms, n)), "
		"s AS (UPDATE shots s SET status = 'ready', audio_key = u.key, duration_ms = u.ms, updated_at = now() "
		"      FROM u WHERE s.job_id = u.job_id AND s.idx = u.idx AND s.status = 'voicing' "
		"      RETURNING u.n, s.job_id), "
		"c AS (SELECT job_id, count(*) AS k FROM s GROUP BY job_id), "
		"j AS (UPDATE jobs SET shots_ready = jobs.shots_ready + c.k, updated_at = now() FROM c "
		"      WHERE jobs.id = c.job_id RETURNING jobs.id, jobs.shots_ready = jobs.shots_total AS complete) "
		"SELECT s.n, j.complete FROM s JOIN j ON j.id = s.job_id ORDER BY s.n";
	const char **keys = xmalloc(n * sizeof(*keys));
	int64_t *ms = xmalloc(n * sizeof(*ms));
	for (size_t i = 0; i < n; i++) {
		const struct voice_data *vd = tasks[i]->data;
		keys[i] = vd->key[0] ? vd->key : NULL;
		ms[i] = vd->res.duration_ms;
	}
	char *key_array = db_text_array(keys, n), *ms_array = db_int_array(ms, n);
	PGresult *r = worker_query_tasks(w, sql, tasks, n, true, (const char *const[]){ key_array, ms_array }, 2);
	free(key_array);
	free(ms_array);
	free(keys);
	free(ms);
	return r;
}

/* Jobs whose last shot became ready go to merging, once. */
static int start_merges(struct worker *w, struct task **complete, size_t n)
{
	static const char sql[] = "UPDATE jobs SET status = 'merging', updated_at = now() "
				  "FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n) "
				  "WHERE jobs.id = u.id AND jobs.status = 'producing' RETURNING u.n";
	PGresult *r = worker_query_tasks(w, sql, complete, n, false, NULL, 0);
	if (!r)
		return -1;
	for (int row = 0; row < PQntuples(r); row++) {
		struct task *t = worker_row_task(r, row, complete, n);
		events_add(worker_events(w), t->env.job, -1, "merging", NULL);
		worker_emit(w, t, "merge", -1);
	}
	PQclear(r);
	return 0;
}

/* Several tts-workers count shots of the same jobs; taking the job rows in
 * one global order first keeps their transactions from deadlocking. */
static int lock_jobs(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] = "SELECT 1 FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE";
	PGresult *r = worker_query_tasks(w, sql, tasks, n, false, NULL, 0);
	PQclear(r);
	return r ? 0 : -1;
}

static int commit(struct worker *w, struct task **tasks, size_t n)
{
	struct task **complete;
	size_t n_complete = 0;
	char detail[64];
	int rc = 0;
	PGresult *r;
	if (lock_jobs(w, tasks, n) < 0 || !(r = mark_ready(w, tasks, n)))
		return -1;
	complete = xmalloc(n * sizeof(*complete));
	/* Tasks without a row lost to a duplicate delivery that got there first. */
	for (int row = 0; row < PQntuples(r); row++) {
		struct task *t = worker_row_task(r, row, tasks, n);
		const struct voice_data *vd = t->data;
		snprintf(detail, sizeof(detail), "{\"duration_ms\":%lld}", (long long)vd->res.duration_ms);
		events_add(worker_events(w), t->env.job, t->env.shot, "ready", detail);
		if (PQgetvalue(r, row, 1)[0] == 't')
			complete[n_complete++] = t;
	}
	PQclear(r);
	if (n_complete)
		rc = start_merges(w, complete, n_complete);
	free(complete);
	return rc;
}

static int fail(struct worker *w, struct task *t)
{
	return jobs_pause_for_shot(worker_db(w), worker_events(w), t->env.job, t->env.shot, "tts", t->error_code,
				   t->error);
}

static void release(struct task *t)
{
	struct voice_data *vd = t->data;
	if (!vd)
		return;
	free(vd->text);
	free(vd->language);
	free(vd->voice);
	free(vd);
}

const struct stage_ops voice_ops = {
	.init = init,
	.claim = claim,
	.work = work,
	.commit = commit,
	.fail = fail,
	.release = release,
};
