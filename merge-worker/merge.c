/*
 * Merge handler: reads the ready shots, assembles them on the thread pool
 * with FFmpeg's libraries, stores jobs/ID/final.mp4 and marks the job done.
 */
#include "merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assemble.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "media.h"
#include "storage.h"
#include "banned.h"

struct merge_data {
	struct assemble_shot *shots;
	char **paths; /* owned image and audio paths, two per shot */
	size_t n_shots;
	int width, height;
	struct storage *storage;
	char key[128];
	int64_t duration_ms;
};

static int init(struct worker *w, const char *provider, char *err, size_t errlen)
{
	(void)w;
	if (strcmp(provider, "offline") != 0 && strcmp(provider, "ffmpeg") != 0)
		return errorf(err, errlen, "REEL_MERGE_PROVIDER=%s: unknown provider (available: ffmpeg)", provider);
	assemble_init();
	return 0;
}

static PGresult *claim_job(struct db *db, const char *job)
{
	static const char sql[] = "UPDATE jobs SET updated_at = now() WHERE id = $1 AND status = 'merging' "
				  "RETURNING options->>'aspect_ratio', options->>'resolution'";
	const char *params[] = { job };
	return db_exec(db, sql, 1, params);
}

static PGresult *ready_shots(struct db *db, const char *job)
{
	static const char sql[] = "SELECT image_key, audio_key, duration_ms FROM shots "
				  "WHERE job_id = $1 AND status = 'ready' ORDER BY idx";
	const char *params[] = { job };
	return db_exec(db, sql, 1, params);
}

static void load_shots(struct merge_data *md, PGresult *r)
{
	md->n_shots = (size_t)PQntuples(r);
	md->shots = xcalloc(md->n_shots, sizeof(*md->shots));
	md->paths = xcalloc(md->n_shots * 2, sizeof(char *));
	for (size_t i = 0; i < md->n_shots; i++) {
		md->paths[2 * i] = storage_path(md->storage, PQgetvalue(r, (int)i, 0));
		md->paths[2 * i + 1] = storage_path(md->storage, PQgetvalue(r, (int)i, 1));
		md->shots[i].image_path = md->paths[2 * i];
		md->shots[i].audio_path = md->paths[2 * i + 1];
		md->shots[i].duration_ms = atoll(PQgetvalue(r, (int)i, 2));
		md->duration_ms += md->shots[i].duration_ms;
	}
}

static enum claim_result claim(struct worker *w, struct task *t)
{
	struct db *db = worker_db(w);
	struct merge_data *md;
	PGresult *r = claim_job(db, t->env.job), *s;
	if (!r)
		return CLAIM_ERROR;
	if (PQntuples(r) == 0) {
		PQclear(r);
		log_info("job is not merging; nothing to do");
		return CLAIM_DONE;
	}
	if (!(s = ready_shots(db, t->env.job))) {
		PQclear(r);
		return CLAIM_ERROR;
	}
	md = xcalloc(1, sizeof(*md));
	t->data = md;
	md->storage = worker_storage(w);
	if (media_frame_size(PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0),
			     PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1), &md->width, &md->height) < 0) {
		md->width = 1080;
		md->height = 1920;
	}
	PQclear(r);
	if (worker_skip_media(w)) {
		PQclear(s);
		return CLAIM_READY;
	}
	load_shots(md, s);
	PQclear(s);
	return CLAIM_WORK;
}

static void work(struct task *t)
{
	struct merge_data *md = t->data;
	char *tmp = storage_temp(md->storage, ".mp4"), err[512];
	const struct assemble_spec spec = {
		.shots = md->shots, .n_shots = md->n_shots, .width = md->width, .height = md->height, .fps = 25,
		.out_path = tmp,
	};
	snprintf(md->key, sizeof(md->key), "jobs/%s/final.mp4", t->env.job);
	if (md->n_shots == 0)
		task_fail(t, "nothing_to_merge", "the job has no ready shots to put together");
	else if (assemble_mp4(&spec, err, sizeof(err)) < 0)
		task_fail(t, "merge_failed", "the video could not be assembled: %s", err);
	else if (storage_put(md->storage, md->key, tmp, err, sizeof(err)) < 0)
		task_fail(t, "storage_failed", "the video could not be stored: %s", err);
	if (t->result != WORK_OK)
		unlink(tmp);
	else
		log_info("assembled %zu shot(s), %lld ms", md->n_shots, (long long)md->duration_ms);
	free(tmp);
}

static int commit(struct worker *w, struct task *t)
{
	static const char sql[] = "UPDATE jobs SET status = 'done', output = CASE WHEN $2::text IS NULL THEN NULL "
				  "ELSE jsonb_build_object('video_key', $2::text, 'duration_ms', $3::bigint) END, "
				  "updated_at = now(), finished_at = now() WHERE id = $1 AND status = 'merging'";
	struct merge_data *md = t->data;
	char ms[24];
	const char *params[] = { t->env.job, md->key[0] ? md->key : NULL, ms };
	snprintf(ms, sizeof(ms), "%lld", (long long)md->duration_ms);
	PGresult *r = db_exec(worker_db(w), sql, 3, params);
	if (!r)
		return -1;
	long changed = db_affected(r);
	PQclear(r);
	if (changed == 0)
		return 0;
	return jobs_event(worker_db(w), worker_outbox(w), t->env.job, -1, "done", NULL);
}

static int fail(struct worker *w, struct task *t)
{
	return jobs_fail(worker_db(w), worker_outbox(w), t->env.job, "merge", t->error_code, t->error, true);
}

static void release(struct task *t)
{
	struct merge_data *md = t->data;
	if (!md)
		return;
	for (size_t i = 0; i < md->n_shots * 2; i++)
		free(md->paths[i]);
	free(md->paths);
	free(md->shots);
	free(md);
}

const struct stage_ops merge_ops = {
	.init = init,
	.claim = claim,
	.work = work,
	.commit = commit,
	.fail = fail,
	.release = release,
};
