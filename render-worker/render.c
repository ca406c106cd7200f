/*
 * Render handler with the offline provider: the keyframe is drawn on the
 * thread pool and stored as jobs/ID/shot-N.jpg.
 */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "events.h"
#include "jobs.h"
#include "log.h"
#include "media.h"
#include "plugin.h"
#include "storage.h"
#include "banned.h"

struct render_data {
	char *prompt;
	int width, height;
	struct storage *storage;
	char key[128]; /* where the keyframe was stored */
};

/* The offline drawer lives in the render-worker plugin (libavfilter and its
 * many libraries), loaded only when keyframes are really drawn. */
static int (*draw)(const char *prompt, int width, int height, const char *out_path, char *err, size_t errlen);

static int init(struct worker *w, const char *provider, char *err, size_t errlen)
{
	static const char *const symbols[] = { "keyframe_draw", "keyframe_font" };
	void *addrs[2];
	const char *(*font)(void);
	if (strcmp(provider, "offline") != 0)
		return errorf(err, errlen, "REEL_RENDER_PROVIDER=%s: unknown provider (available: offline)", provider);
	if (worker_skip_media(w))
		return 0;
	if (plugin_load("render-worker", symbols, addrs, 2, err, errlen) < 0)
		return -1;
	*(void **)&draw = addrs[0];
	*(void **)&font = addrs[1];
	if (!font())
		return errorf(err, errlen, "no CJK-capable font found for the offline renderer (install fonts-noto-cjk)");
	return 0;
}

static int take_row(struct worker *w, struct task *t, PGresult *r, int row);

static int claim(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] =
		"UPDATE shots s SET status = 'rendering', attempts = s.attempts + 1, updated_at = now() "
		"FROM jobs j, unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS u(job_id, idx, n) "
		"WHERE s.job_id = u.job_id AND s.idx = u.idx AND j.id = s.job_id AND j.status = 'producing' "
		"AND s.status IN ('pending', 'rendering') "
		"RETURNING u.n, s.prompt, j.options->>'aspect_ratio', j.options->>'resolution'";
	/* Shots past rendering, or whose job is not producing, are not claimed. */
	return worker_claim_rows(w, worker_query_tasks(w, sql, tasks, n, true, NULL, 0), tasks, n, take_row);
}

static int take_row(struct worker *w, struct task *t, PGresult *r, int row)
{
	struct render_data *rd = xcalloc(1, sizeof(*rd));
	t->data = rd;
	t->claim = worker_skip_media(w) ? CLAIM_READY : CLAIM_WORK;
	rd->prompt = xstrdup(PQgetvalue(r, row, 1));
	rd->storage = worker_storage(w);
	if (media_frame_size(PQgetisnull(r, row, 2) ? NULL : PQgetvalue(r, row, 2),
			     PQgetisnull(r, row, 3) ? NULL : PQgetvalue(r, row, 3), &rd->width, &rd->height) < 0) {
		rd->width = 1080; /* the gateway validated the options; keep the default frame regardless */
		rd->height = 1920;
	}
	return 0;
}

static void work(struct task *t)
{
	struct render_data *rd = t->data;
	char *tmp = storage_temp(rd->storage, ".jpg"), err[512];
	snprintf(rd->key, sizeof(rd->key), "jobs/%s/shot-%d.jpg", t->env.job, t->env.shot);
	if (draw(rd->prompt, rd->width, rd->height, tmp, err, sizeof(err)) < 0)
		task_fail(t, "render_failed", "the keyframe could not be drawn: %s", err);
	else if (storage_put(rd->storage, rd->key, tmp, err, sizeof(err)) < 0)
		task_fail(t, "storage_failed", "the keyframe could not be stored: %s", err);
	if (t->result != WORK_OK)
		unlink(tmp);
	free(tmp);
}

static int commit(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] = "UPDATE shots s SET status = 'rendered', image_key = u.key, updated_at = now() "
				  "FROM unnest($1::uuid[], $2::int[], $3::text[]) WITH ORDINALITY AS u(job_id, idx, key, n) "
				  "WHERE s.job_id = u.job_id AND s.idx = u.idx AND s.status = 'rendering' RETURNING u.n";
	const char **keys = xmalloc(n * sizeof(*keys));
	for (size_t i = 0; i < n; i++) {
		const struct render_data *rd = tasks[i]->data;
		keys[i] = rd->key[0] ? rd->key : NULL;
	}
	char *key_array = db_text_array(keys, n);
	PGresult *r = worker_query_tasks(w, sql, tasks, n, true, (const char *const[]){ key_array }, 1);
	free(key_array);
	free(keys);
	if (!r)
		return -1;
	/* Tasks without a row lost to a duplicate delivery that got there first. */
	for (int row = 0; row < PQntuples(r); row++) {
		struct task *t = worker_row_task(r, row, tasks, n);
		events_add(worker_events(w), t->env.job, t->env.shot, "rendered", NULL);
		worker_emit(w, t, "tts", t->env.shot);
	}
	PQclear(r);
	return 0;
}

static int fail(struct worker *w, struct task *t)
{
	return jobs_pause_for_shot(worker_db(w), worker_events(w), t->env.job, t->env.shot, "render", t->error_code,
				   t->error);
}

static void release(struct task *t)
{
	struct render_data *rd = t->data;
	if (!rd)
		return;
	free(rd->prompt);
	free(rd);
}

const struct stage_ops render_ops = {
	.init = init,
	.claim = claim,
	.work = work,
	.commit = commit,
	.fail = fail,
	.release = release,
};
