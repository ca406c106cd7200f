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
#include "events.h"
#include "jobs.h"
#include "log.h"
#include "media.h"
#include "plugin.h"
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

/* The assembler lives in the merge-worker plugin (FFmpeg's codecs), loaded
 * only when videos are really encoded. */
static int (*assemble)(const struct assemble_spec *spec, char *err, size_t errlen);

static int init(struct worker *w, const char *provider, char *err, size_t errlen)
{
	static const char *const symbols[] = { "assemble_mp4", "assemble_init" };
	void *addrs[2];
	void (*assemble_setup)(void);
	if (strcmp(provider, "offline") != 0 && strcmp(provider, "ffmpeg") != 0)
		return errorf(err, errlen, "REEL_MERGE_PROVIDER=%s: unknown provider (available: ffmpeg)", provider);
	if (worker_skip_media(w))
		return 0;
	if (plugin_load("merge-worker", symbols, addrs, 2, err, errlen) < 0)
		return -1;
	*(void **)&assemble = addrs[0];
	*(void **)&assemble_setup = addrs[1];
	assemble_setup();
	return 0;
}

static int take_row(struct worker *w, struct task *t, PGresult *r, int row);

/* Claims jobs that are merging; done, canceled or gone ones are not claimed. */
static int claim(struct worker *w, struct task **tasks, size_t n)
{
	/* A read, not a write: the commit's conditional update settles races. */
	static const char sql[] = "SELECT u.n, j.options->>'aspect_ratio', j.options->>'resolution' "
				  "FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n) JOIN jobs j ON j.id = u.id "
				  "WHERE j.status = 'merging'";
	return worker_claim_rows(w, worker_query_tasks(w, sql, tasks, n, false, NULL, 0), tasks, n, take_row);
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

static int take_row(struct worker *w, struct task *t, PGresult *r, int row)
{
	struct merge_data *md = xcalloc(1, sizeof(*md));
	PGresult *s;
	t->data = md;
	md->storage = worker_storage(w);
	if (media_frame_size(PQgetisnull(r, row, 1) ? NULL : PQgetvalue(r, row, 1),
			     PQgetisnull(r, row, 2) ? NULL : PQgetvalue(r, row, 2), &md->width, &md->height) < 0) {
		md->width = 1080;
		md->height = 1920;
	}
	if (worker_skip_media(w)) {
		t->claim = CLAIM_READY;
		return 0;
	}
	if (!(s = ready_shots(worker_db(w), t->env.job)))
		return -1;
	load_shots(md, s);
	PQclear(s);
	t->claim = CLAIM_WORK;
	return 0;
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
	else if (assemble(&spec, err, sizeof(err)) < 0)
		task_fail(t, "merge_failed", "the video could not be assembled: %s", err);
	else if (storage_put(md->storage, md->key, tmp, err, sizeof(err)) < 0)
		task_fail(t, "storage_failed", "the video could not be stored: %s", err);
	if (t->result != WORK_OK)
		unlink(tmp);
	else
		log_info("assembled %zu shot(s), %lld ms", md->n_shots, (long long)md->duration_ms);
	free(tmp);
}

static int commit(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] = "UPDATE jobs SET status = 'done', output = CASE WHEN u.key IS NULL THEN NULL "
				  "ELSE jsonb_build_object('video_key', u.key, 'duration_ms', u.ms) END, "
				  "updated_at = now(), finished_at = now() "
				  "FROM unnest($1::uuid[], $2::text[], $3::bigint[]) WITH ORDINALITY AS u(id, key, ms, n) "
				  "WHERE jobs.id = u.id AND jobs.status = 'merging' RETURNING u.n";
	const char **keys = xmalloc(n * sizeof(*keys));
	int64_t *ms = xmalloc(n * sizeof(*ms));
	for (size_t i = 0; i < n; i++) {
		const struct merge_data *md = tasks[i]->data;
		keys[i] = md->key[0] ? md->key : NULL;
		ms[i] = md->duration_ms;
	}
	char *key_array = db_text_array(keys, n), *ms_array = db_int_array(ms, n);
	PGresult *r = worker_query_tasks(w, sql, tasks, n, false, (const char *const[]){ key_array, ms_array }, 2);
	free(key_array);
	free(ms_array);
	free(keys);
	free(ms);
	if (!r)
		return -1;
	for (int row = 0; row < PQntuples(r); row++)
		events_add(worker_events(w), worker_row_task(r, row, tasks, n)->env.job, -1, "done", NULL);
	PQclear(r);
	return 0;
}

static int fail(struct worker *w, struct task *t)
{
	return jobs_fail(worker_db(w), worker_events(w), t->env.job, "merge", t->error_code, t->error, true);
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
