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
#include "jobs.h"
#include "keyframe.h"
#include "log.h"
#include "media.h"
#include "storage.h"
#include "banned.h"

struct render_data {
	char *prompt;
	int width, height;
	struct storage *storage;
	char key[128]; /* where the keyframe was stored */
};

static int init(struct worker *w, const char *provider, char *err, size_t errlen)
{
	(void)w;
	if (strcmp(provider, "offline") != 0)
		return errorf(err, errlen, "REEL_RENDER_PROVIDER=%s: unknown provider (available: offline)", provider);
	if (!keyframe_font())
		return errorf(err, errlen, "no CJK-capable font found for the offline renderer (install fonts-noto-cjk)");
	return 0;
}

static enum claim_result claim(struct worker *w, struct task *t)
{
	static const char sql[] =
		"UPDATE shots s SET status = 'rendering', attempts = s.attempts + 1, updated_at = now() FROM jobs j "
		"WHERE s.job_id = $1 AND s.idx = $2 AND j.id = s.job_id AND j.status = 'producing' "
		"AND s.status IN ('pending', 'rendering') "
		"RETURNING s.prompt, j.options->>'aspect_ratio', j.options->>'resolution'";
	char idx[16];
	const char *params[] = { t->env.job, idx };
	struct render_data *rd;
	snprintf(idx, sizeof(idx), "%d", t->env.shot);
	PGresult *r = db_exec(worker_db(w), sql, 2, params);
	if (!r)
		return CLAIM_ERROR;
	if (PQntuples(r) == 0) {
		PQclear(r);
		log_info("shot is past rendering or its job is not producing; nothing to do");
		return CLAIM_DONE;
	}
	rd = xcalloc(1, sizeof(*rd));
	t->data = rd;
	rd->prompt = xstrdup(PQgetvalue(r, 0, 0));
	rd->storage = worker_storage(w);
	if (media_frame_size(PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1),
			     PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2), &rd->width, &rd->height) < 0) {
		rd->width = 1080; /* the gateway validated the options; keep the default frame regardless */
		rd->height = 1920;
	}
	PQclear(r);
	return worker_skip_media(w) ? CLAIM_READY : CLAIM_WORK;
}

static void work(struct task *t)
{
	struct render_data *rd = t->data;
	char *tmp = storage_temp(rd->storage, ".jpg"), err[512];
	snprintf(rd->key, sizeof(rd->key), "jobs/%s/shot-%d.jpg", t->env.job, t->env.shot);
	if (keyframe_draw(rd->prompt, rd->width, rd->height, tmp, err, sizeof(err)) < 0)
		task_fail(t, "render_failed", "the keyframe could not be drawn: %s", err);
	else if (storage_put(rd->storage, rd->key, tmp, err, sizeof(err)) < 0)
		task_fail(t, "storage_failed", "the keyframe could not be stored: %s", err);
	if (t->result != WORK_OK)
		unlink(tmp);
	free(tmp);
}

static int commit(struct worker *w, struct task *t)
{
	static const char sql[] = "UPDATE shots SET status = 'rendered', image_key = $3, updated_at = now() "
				  "WHERE job_id = $1 AND idx = $2 AND status = 'rendering'";
	struct render_data *rd = t->data;
	char idx[16];
	const char *params[] = { t->env.job, idx, rd->key[0] ? rd->key : NULL };
	snprintf(idx, sizeof(idx), "%d", t->env.shot);
	PGresult *r = db_exec(worker_db(w), sql, 3, params);
	if (!r)
		return -1;
	long changed = db_affected(r);
	PQclear(r);
	if (changed == 0)
		return 0; /* a duplicate delivery got there first */
	if (jobs_event(worker_db(w), worker_outbox(w), t->env.job, t->env.shot, "rendered", NULL) < 0)
		return -1;
	worker_emit(w, t, "tts", t->env.shot);
	return 0;
}

static int fail(struct worker *w, struct task *t)
{
	return jobs_pause_for_shot(worker_db(w), worker_outbox(w), t->env.job, t->env.shot, "render", t->error_code,
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
