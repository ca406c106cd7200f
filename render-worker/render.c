/*
 * Render handler. A batch of shots is claimed in one statement, each with
 * its job's provider (options.providers.render or REEL_RENDER_PROVIDER),
 * frame, seed and motion. The offline provider's keyframes are committed
 * here and the shots move on to narration; a remote vendor's submission is
 * recorded as a provider_tasks row (vendor, task id, deadline) in the batch
 * transaction with its provider_calls row (what the job paid for), and the
 * webhook-receiver finishes the shot when the vendor calls back. With motion
 * i2v a shot comes back here once its keyframe is stored, for the clip; the
 * offline provider makes its clip right after the keyframe, in the same task.
 * A shot whose result is stored already is kept, never rendered again.
 */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing.h"
#include "charge.h"
#include "db.h"
#include "errbuf.h"
#include "events.h"
#include "http_client.h"
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "media.h"
#include "provider_calls.h"
#include "render_submit.h"
#include "str.h"
#include "banned.h"

static int init(struct worker *w, const char *provider, char *err, size_t errlen)
{
	bool offline = strcmp(provider, "offline") == 0;
	char names[160];
	if (!provider_find(&render_registry, provider))
		return errbuf_set(err, errlen, "REEL_RENDER_PROVIDER=%s: unknown provider (available: %s)", provider,
				  provider_names(&render_registry, names, sizeof(names)));
	struct render_state *st = xcalloc(1, sizeof(*st));
	st->vendors = worker_config(w);
	st->storage = worker_storage(w);
	st->public_url = worker_daemon_config(w)->public_url;
	st->default_provider = provider;
	st->skip_media = worker_skip_media(w);
	worker_set_app(w, st);
	if (render_submit_init(st, offline, err, errlen) < 0)
		return -1;
	st->http = http_client_new(worker_loop(w));
	return 0;
}

static int take_row(struct worker *w, struct task *t, PGresult *r, int row);

static int claim(struct worker *w, struct task **tasks, size_t n)
{
	/* Shots past rendering, whose job is not producing, or with a vendor
	 * task still open (a redelivered message) are not claimed. */
#define CLAIM_SQL \
	"UPDATE shots s SET status = 'rendering', attempts = s.attempts + 1, updated_at = now() " \
	"FROM jobs j, unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS u(job_id, idx, n) " \
	"WHERE s.job_id = u.job_id AND s.idx = u.idx AND j.id = s.job_id AND j.status = 'producing' " \
	"AND s.status IN ('pending', 'rendering') AND NOT EXISTS (SELECT 1 FROM provider_tasks p " \
	"WHERE p.job_id = s.job_id AND p.shot = s.idx AND p.stage = 'render' AND p.status IN ('submitted', 'retry')) " \
	"RETURNING u.n, s.prompt, j.options->>'aspect_ratio', j.options->>'resolution', j.options->>'motion', " \
	"j.options->'providers'->>'render', coalesce(s.seed, j.seed), s.est_duration_ms, s.image_key, " \
	"s.video_key, s.attempts, (SELECT count(*) FROM provider_tasks p WHERE p.job_id = s.job_id " \
	"AND p.shot = s.idx AND p.stage = 'render')"
	static const char sql[] = CLAIM_SQL, billed_sql[] = CLAIM_SQL CHARGE_LEFT_COLUMN("s.job_id");
#undef CLAIM_SQL
	const char *q = worker_billing(w) ? billed_sql : sql;
	return worker_claim_rows(w, worker_query_tasks(w, q, tasks, n, true, NULL, 0), tasks, n, take_row);
}

static const char *text_or_null(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) || !*PQgetvalue(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static void read_shot(struct render_shot *s, struct task *t, PGresult *r, int row)
{
	const char *aspect = text_or_null(r, row, 2);
	s->prompt = xstrdup(PQgetvalue(r, row, 1));
	snprintf(s->aspect, sizeof(s->aspect), "%s", aspect ? aspect : "9:16");
	if (media_frame_size(aspect, text_or_null(r, row, 3), &s->frame_w, &s->frame_h) < 0) {
		s->frame_w = 1080; /* the gateway validated the options; keep the default frame regardless */
		s->frame_h = 1920;
		snprintf(s->aspect, sizeof(s->aspect), "9:16");
	}
	s->seed = atol(PQgetvalue(r, row, 6));
	s->est_ms = atol(PQgetvalue(r, row, 7));
	s->image_key = text_or_null(r, row, 8) ? xstrdup(PQgetvalue(r, row, 8)) : NULL;
	snprintf(s->job, sizeof(s->job), "%s", t->env.job);
	s->index = t->env.shot;
	s->generation = atoi(PQgetvalue(r, row, 11));
}

/* A shot whose picture (and clip) is already stored, as after a retry or a
 * redelivered message, keeps it: nothing is drawn or bought again. */
static int keep_stored(struct task *t, struct render_data *rd, const char *video_key)
{
	rd->kept = true;
	str_copy(rd->key, rd->shot.image_key, sizeof(rd->key));
	str_copy(rd->video_key, video_key ? video_key : "", sizeof(rd->video_key));
	t->claim = CLAIM_READY;
	worker_task_log(t);
	log_info("the shot's result is already stored: kept, not rendered again");
	log_set_ctx(NULL);
	return 0;
}

/* Two messages of one shot (a redelivery and the sweeper's retry) claimed
 * before the first one's vendor task is committed both pass the claim's
 * open-task check: the second is dropped here, or the picture is bought twice.
 * Otherwise rd joins the shots this process is rendering. */
static bool busy_here(struct render_state *st, struct render_data *rd)
{
	for (struct render_data *o = st->busy; o; o = o->busy_next)
		if (o->shot.index == rd->shot.index && o->shot.video == rd->shot.video &&
		    !strcmp(o->shot.job, rd->shot.job))
			return true;
	rd->busy_next = st->busy;
	if (st->busy)
		st->busy->busy_prev = &rd->busy_next;
	st->busy = rd;
	rd->busy_prev = &st->busy;
	return false;
}

/* What the step about to be made costs: a keyframe, a clip, or offline both at once. */
static long price_of(const struct billing *b, const struct render_data *rd)
{
	if (!b)
		return 0;
	if (rd->provider && rd->shot.video)
		return billing_price(b, "i2v", rd->provider_name);
	return billing_price(b, "render", rd->provider_name) +
	       (rd->shot.video ? billing_price(b, "i2v", rd->provider_name) : 0);
}

static int take_row(struct worker *w, struct task *t, PGresult *r, int row)
{
	struct render_state *st = worker_app(w);
	struct render_data *rd = xcalloc(1, sizeof(*rd));
	const char *motion = text_or_null(r, row, 4), *name = text_or_null(r, row, 5);
	t->data = rd;
	t->claim = CLAIM_WORK;
	read_shot(&rd->shot, t, r, row);
	const struct provider_info *info = provider_find(&render_registry, name ? name : st->default_provider);
	if (!info) {
		char names[160];
		worker_task_fail(t, "unknown_provider",
				 "options.providers.render: '%.64s' is not a render provider (%s)", name,
				 provider_names(&render_registry, names, sizeof(names)));
		return 0;
	}
	rd->provider_name = info->name; /* the registry's: it outlives the claim's rows, which the commit charges by */
	rd->provider = render_provider_find(rd->provider_name);
	/* The clip step: the keyframe is stored, the clip not yet. Offline draws both in one step. */
	bool i2v = motion && strcmp(motion, "i2v") == 0;
	bool wants_clip = rd->provider ? i2v && vendors_has_i2v(st->vendors, rd->provider->info.name)
				       : i2v && !st->skip_media;
	const char *video_key = text_or_null(r, row, 9);
	if (rd->shot.image_key && (video_key || !wants_clip))
		return keep_stored(t, rd, video_key);
	rd->shot.video = rd->provider ? wants_clip && rd->shot.image_key : wants_clip;
	if (charge_short(worker_billing(w), r, row, price_of(worker_billing(w), rd))) {
		worker_task_fail(t, CHARGE_CODE, "%s", charge_message);
		return 0;
	}
	if (busy_here(st, rd)) {
		t->claim = CLAIM_DONE;
		return 0;
	}
	/* An earlier attempt may have reached the vendor without its id being stored. */
	rd->attempt = atoi(PQgetvalue(r, row, 10));
	rd->look_first = rd->attempt > 1;
	if (!rd->provider && st->skip_media)
		t->claim = CLAIM_READY;
	return 0;
}

/* The offline drawer's keyframe (and clip, drawn in the same step) of each
 * stored row. A kept result is not charged: the transaction that stored it
 * first did. */
static void charge_drawn(const struct billing *b, struct task *t, struct ledger_charge *c, size_t *k)
{
	const struct render_data *rd = t->data;
	if (rd->kept)
		return;
	charge_set(&c[(*k)++], b, t->env.job, "render", rd->provider_name, t->env.shot, 1);
	if (rd->shot.video)
		charge_set(&c[(*k)++], b, t->env.job, "i2v", rd->provider_name, t->env.shot, 1);
}

/* Offline keyframes (and i2v clips), and results kept from before: the shot
 * is rendered and moves on to narration. */
static int commit_drawn(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] =
		"UPDATE shots s SET status = 'rendered', image_key = u.key, video_key = u.vkey, "
		"updated_at = now() FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[]) WITH ORDINALITY "
		"AS u(job_id, idx, key, vkey, n) WHERE s.job_id = u.job_id AND s.idx = u.idx AND s.status = 'rendering' "
		"RETURNING u.n";
	const char **keys = xmalloc(n * sizeof(*keys)), **vkeys = xmalloc(n * sizeof(*vkeys));
	for (size_t i = 0; i < n; i++) {
		const struct render_data *rd = tasks[i]->data;
		keys[i] = rd->key[0] ? rd->key : NULL;
		vkeys[i] = rd->video_key[0] ? rd->video_key : NULL;
	}
	char *arrays[2] = { db_text_array(keys, n), db_text_array(vkeys, n) };
	PGresult *r = worker_query_tasks(w, sql, tasks, n, true, (const char *const *)arrays, 2);
	free(arrays[0]);
	free(arrays[1]);
	free(keys);
	free(vkeys);
	if (!r)
		return -1;
	const struct billing *b = worker_billing(w);
	struct ledger_charge *c = b ? xmalloc(2 * n * sizeof(*c)) : NULL;
	size_t k = 0;
	/* Tasks without a row lost to a duplicate delivery that got there first. */
	for (int row = 0; row < PQntuples(r); row++) {
		struct task *t = worker_row_task(r, row, tasks, n);
		if (!((const struct render_data *)t->data)->kept) /* a kept result was announced when it was made */
			events_add(worker_events(w), t->env.job, t->env.shot, "rendered", NULL);
		worker_emit(w, t, "tts", t->env.shot);
		if (b)
			charge_drawn(b, t, c, &k);
	}
	PQclear(r);
	int rc = charge_kept(worker_db(w), worker_events(w), c, k);
	free(c);
	return rc;
}

/* The provider_tasks row's meta: where to poll, read and cancel the task. */
static char *task_meta(const struct render_state *st, const struct render_data *rd)
{
	cJSON *m = cJSON_CreateObject();
	const struct vendor_result *s = &rd->sub;
	long wait_ms = rd->provider->callbacks ? st->vendors->callback_timeout_s * 1000 : st->vendors->poll_ms;
	cJSON_AddStringToObject(m, "kind", rd->shot.video ? "video" : "image");
	cJSON_AddNumberToObject(m, "wait_ms", (double)wait_ms);
	if (s->get_url)
		cJSON_AddStringToObject(m, "get", s->get_url);
	if (s->result_url)
		cJSON_AddStringToObject(m, "result", s->result_url);
	if (s->cancel_url)
		cJSON_AddStringToObject(m, "cancel", s->cancel_url);
	char *text = json_print(m);
	cJSON_Delete(m);
	return text;
}

static const char *model_of(const struct vendors *v, const struct render_data *rd)
{
	const char *name = rd->provider->info.name, *model = "workflow";
	if (strcmp(name, "replicate") == 0)
		model = rd->shot.video ? v->replicate_i2v_model : v->replicate_model;
	else if (strcmp(name, "fal") == 0)
		model = rd->shot.video ? v->fal_i2v_model : v->fal_model;
	return model ? model : "";
}

/* One provider_calls row per vendor task, what the job paid for: a
 * submission the vendor accepted, or one found again after its answer was
 * lost (no row was written for it then). */
static int record_calls(struct worker *w, struct task **tasks, size_t n)
{
	const struct render_state *st = worker_app(w);
	struct provider_call *rows = xcalloc(n, sizeof(*rows));
	const struct provider_call **calls = xmalloc(n * sizeof(*calls));
	uint64_t now = uv_now(worker_loop(w));
	for (size_t i = 0; i < n; i++) {
		const struct render_data *rd = tasks[i]->data;
		rows[i] = (struct provider_call){ .job = tasks[i]->env.job,
						  .shot = tasks[i]->env.shot,
						  .provider = rd->provider->info.name,
						  .purpose = rd->shot.video ? "video" : "image",
						  .attempt = rd->attempt,
						  .http_status = rd->http_status,
						  .outcome = "ok",
						  .latency_ms = (long)(now - rd->sent_at) };
		str_copy(rows[i].model, model_of(st->vendors, rd), sizeof(rows[i].model));
		calls[i] = &rows[i];
	}
	int rc = provider_calls_insert(worker_db(w), "render", calls, n);
	free(calls);
	free(rows);
	return rc;
}

/* Vendor submissions: one provider_tasks row each; the shot stays rendering. */
static int commit_submitted(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] =
		"INSERT INTO provider_tasks (job_id, shot, stage, provider, external_id, kind, meta, deadline, attempts) "
		"SELECT u.job_id, u.idx, 'render', u.provider, u.ext, u.meta::jsonb->>'kind', u.meta::jsonb, "
		"now() + (u.meta::jsonb->>'wait_ms')::bigint * interval '1 millisecond', s.attempts "
		"FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY "
		"AS u(job_id, idx, provider, ext, meta, n) JOIN shots s ON s.job_id = u.job_id AND s.idx = u.idx "
		"ON CONFLICT (provider, external_id) DO NOTHING RETURNING job_id, shot, provider, external_id, kind";
	struct render_state *st = worker_app(w);
	const char **names = xmalloc(n * sizeof(*names)), **ids = xmalloc(n * sizeof(*ids));
	char **metas = xmalloc(n * sizeof(*metas));
	for (size_t i = 0; i < n; i++) {
		struct render_data *rd = tasks[i]->data;
		names[i] = rd->provider->info.name;
		ids[i] = rd->sub.id;
		metas[i] = task_meta(st, rd);
	}
	char *extra[3] = { db_text_array(names, n), db_text_array(ids, n), db_text_array((const char **)metas, n) };
	PGresult *r = worker_query_tasks(w, sql, tasks, n, true, (const char *const *)extra, 3);
	for (size_t i = 0; i < n; i++)
		free(metas[i]);
	for (size_t i = 0; i < 3; i++)
		free(extra[i]);
	free(names);
	free(ids);
	free(metas);
	for (int row = 0; r && row < PQntuples(r); row++) {
		char *detail = xasprintf("{\"provider\":\"%s\",\"id\":\"%s\",\"kind\":\"%s\"}", PQgetvalue(r, row, 2),
					 PQgetvalue(r, row, 3), PQgetvalue(r, row, 4));
		events_add(worker_events(w), PQgetvalue(r, row, 0), atoi(PQgetvalue(r, row, 1)), "submitted", detail);
		free(detail);
	}
	PQclear(r);
	return r ? record_calls(w, tasks, n) : -1;
}

static int commit(struct worker *w, struct task **tasks, size_t n)
{
	struct task **drawn = xmalloc(n * sizeof(*drawn)), **sent = xmalloc(n * sizeof(*sent));
	size_t n_drawn = 0, n_sent = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		const struct render_data *rd = tasks[i]->data;
		if (rd->provider && !rd->kept)
			sent[n_sent++] = tasks[i];
		else
			drawn[n_drawn++] = tasks[i];
	}
	if (n_drawn)
		rc = commit_drawn(w, drawn, n_drawn);
	if (rc == 0 && n_sent)
		rc = commit_submitted(w, sent, n_sent);
	free(drawn);
	free(sent);
	return rc;
}

static int fail(struct worker *w, struct task *t)
{
	/* A refused key or an unknown provider fails every shot alike: the job fails at once. */
	if (strcmp(t->error_code, "auth") == 0 || strcmp(t->error_code, "unknown_provider") == 0)
		return jobs_fail(worker_db(w), worker_events(w), t->env.job, "render", t->error_code, t->error, false);
	return jobs_pause_for_shot(worker_db(w), worker_events(w), t->env.job, t->env.shot, "render", t->error_code,
				   t->error);
}

static void release(struct task *t)
{
	struct render_data *rd = t->data;
	if (rd && rd->busy_prev) {
		*rd->busy_prev = rd->busy_next;
		if (rd->busy_next)
			rd->busy_next->busy_prev = rd->busy_prev;
	}
	render_submit_data_free(rd);
}

void render_state_free(struct render_state *st)
{
	http_client_free(st->http);
	free(st->comfyui_workflow);
	free(st->comfyui_i2v_workflow);
	free(st);
}

/* Offline draws still running on the thread pool read the state: the last one frees it. */
static void stop(struct worker *w)
{
	struct render_state *st = worker_app(w);
	if (!st)
		return;
	worker_set_app(w, NULL);
	st->stopped = true;
	for (struct render_data *rd = st->busy; rd; rd = rd->busy_next)
		rd->busy_prev = NULL; /* the tasks released after this must not reach st */
	if (st->drawing == 0)
		render_state_free(st);
}

const struct stage_ops render_ops = {
	.init = init,
	.claim = claim,
	.start = render_submit_start,
	.commit = commit,
	.fail = fail,
	.release = release,
	.stop = stop,
};
