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
#include "jobs.h"
#include "log.h"
#include "storage.h"
#include "tts.h"
#include "banned.h"

struct voice_data {
	char *text, *language, *voice;
	struct storage *storage;
	char key[128];
	struct tts_result res;
};

static const struct tts_provider *provider;

static int init(struct worker *w, const char *name, char *err, size_t errlen)
{
	(void)w;
	if (strcmp(name, "offline") == 0 || strcmp(name, "espeak") == 0)
		provider = &tts_provider_espeak;
	else
		return errorf(err, errlen, "REEL_TTS_PROVIDER=%s: unknown provider (available: espeak, offline)", name);
	return 0;
}

static char *opt_copy(PGresult *r, int col)
{
	return PQgetisnull(r, 0, col) ? NULL : xstrdup(PQgetvalue(r, 0, col));
}

static enum claim_result claim(struct worker *w, struct task *t)
{
	static const char sql[] =
		"UPDATE shots s SET status = 'voicing', updated_at = now() FROM jobs j "
		"WHERE s.job_id = $1 AND s.idx = $2 AND j.id = s.job_id AND j.status = 'producing' "
		"AND s.status IN ('rendered', 'voicing') "
		"RETURNING s.narration, j.options->>'language', j.options->>'voice', s.est_duration_ms";
	char idx[16];
	const char *params[] = { t->env.job, idx };
	struct voice_data *vd;
	snprintf(idx, sizeof(idx), "%d", t->env.shot);
	PGresult *r = db_exec(worker_db(w), sql, 2, params);
	if (!r)
		return CLAIM_ERROR;
	if (PQntuples(r) == 0) {
		PQclear(r);
		log_info("shot is past narration or its job is not producing; nothing to do");
		return CLAIM_DONE;
	}
	vd = xcalloc(1, sizeof(*vd));
	t->data = vd;
	vd->text = xstrdup(PQgetvalue(r, 0, 0));
	vd->language = opt_copy(r, 1);
	vd->voice = opt_copy(r, 2);
	vd->storage = worker_storage(w);
	vd->res.duration_ms = atoll(PQgetvalue(r, 0, 3)); /* the estimate stands when media is skipped */
	PQclear(r);
	return worker_skip_media(w) ? CLAIM_READY : CLAIM_WORK;
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

/* Marks the shot ready and counts it; returns the row (ready, total) or NULL on error. */
static PGresult *mark_ready(struct db *db, const struct task *t, const struct voice_data *vd)
{
	static const char sql[] =
		"WITH s AS (UPDATE shots SET status = 'ready', audio_key = $3, duration_ms = $4, updated_at = now() "
		"           WHERE job_id = $1 AND idx = $2 AND status = 'voicing' RETURNING job_id) "
		"UPDATE jobs j SET shots_ready = j.shots_ready + 1, updated_at = now() FROM s "
		"WHERE j.id = s.job_id RETURNING j.shots_ready, j.shots_total, j.status";
	char idx[16], ms[24];
	const char *params[] = { t->env.job, idx, vd->key[0] ? vd->key : NULL, ms };
	snprintf(idx, sizeof(idx), "%d", t->env.shot);
	snprintf(ms, sizeof(ms), "%lld", (long long)vd->res.duration_ms);
	return db_exec(db, sql, 4, params);
}

static int start_merge(struct worker *w, const struct task *t)
{
	static const char sql[] = "UPDATE jobs SET status = 'merging', updated_at = now() "
				  "WHERE id = $1 AND status = 'producing'";
	const char *params[] = { t->env.job };
	PGresult *r = db_exec(worker_db(w), sql, 1, params);
	if (!r)
		return -1;
	long changed = db_affected(r);
	PQclear(r);
	if (changed == 0)
		return 0;
	if (jobs_event(worker_db(w), worker_outbox(w), t->env.job, -1, "merging", NULL) < 0)
		return -1;
	worker_emit(w, t, "merge", -1);
	return 0;
}

static int commit(struct worker *w, struct task *t)
{
	struct voice_data *vd = t->data;
	char detail[64];
	PGresult *r = mark_ready(worker_db(w), t, vd);
	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0; /* a duplicate delivery got there first */
	}
	int ready = atoi(PQgetvalue(r, 0, 0)), total = atoi(PQgetvalue(r, 0, 1));
	PQclear(r);
	snprintf(detail, sizeof(detail), "{\"duration_ms\":%lld}", (long long)vd->res.duration_ms);
	if (jobs_event(worker_db(w), worker_outbox(w), t->env.job, t->env.shot, "ready", detail) < 0)
		return -1;
	return ready == total ? start_merge(w, t) : 0;
}

static int fail(struct worker *w, struct task *t)
{
	return jobs_pause_for_shot(worker_db(w), worker_outbox(w), t->env.job, t->env.shot, "tts", t->error_code,
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
