/*
 * DESIGN: a remote render task is one HTTP call on the loop: build the
 * vendor's submission (our callback URL starts with REEL_PUBLIC_URL), send
 * it, and read the vendor's task id from the answer; the task then ends here
 * and the webhook-receiver finishes it when the vendor calls back. Answers
 * are sorted by what helps: 429/5xx, timeouts and unreachable vendors are
 * retried by the worker loop with backoff (at least the vendor's
 * Retry-After); a refused key fails the job at once, naming the variable;
 * other refusals fail the shot. A retried shot (its earlier attempt may
 * have reached the vendor, its id lost to a timeout or a crash) is first
 * looked for at vendors that make that possible (Replicate, ComfyUI) under
 * its task key, and an earlier submission found is adopted instead of paid
 * for again; a lookup that fails is retried, never skipped. The offline
 * drawer (and with motion i2v its clip maker) runs on the thread pool.
 */
#include "render_submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"
#include "http_client.h"
#include "log.h"
#include "media.h"
#include "plugin.h"
#include "retry.h"
#include "storage.h"
#include "banned.h"

/* Pages of a vendor's list read while looking for a lost submission: it is recent, so near the top. */
#define FIND_MAX_PAGES 5

static int (*draw)(const char *prompt, int width, int height, const char *out_path, char *err, size_t errlen);
static int (*make_clip)(const char *still_path, int width, int height, int fps, long duration_ms, const char *out_path,
			char *err, size_t errlen);

/* The offline drawer lives in the render-worker plugin (libavfilter and its
 * many libraries), loaded only when keyframes are really drawn. */
static int load_drawer(char *err, size_t errlen)
{
	static const char *const symbols[] = { "keyframe_draw", "keyframe_font", "motion_clip_make" };
	void *addrs[3];
	const char *(*font)(void);
	if (draw)
		return 0;
	if (plugin_load("render-worker", symbols, addrs, 3, err, errlen) < 0)
		return -1;
	*(void **)&make_clip = addrs[2];
	*(void **)&font = addrs[1];
	if (!font())
		return errbuf_set(err, errlen,
				  "no CJK-capable font found for the offline renderer (install fonts-noto-cjk)");
	*(void **)&draw = addrs[0];
	return 0;
}

static char *load_template(const char *path, size_t *len, char *err, size_t errlen)
{
	if (!path || !*path)
		return NULL;
	return vendors_read_file(path, len, err, errlen);
}

int render_submit_init(struct render_state *st, bool offline_default, char *err, size_t errlen)
{
	const struct vendors *v = st->vendors;
	err[0] = '\0';
	st->comfyui_workflow = load_template(v->comfyui_workflow, &st->comfyui_workflow_len, err, errlen);
	if (err[0])
		return errbuf_set(err, errlen, "COMFYUI_WORKFLOW=%s: cannot read it", v->comfyui_workflow);
	st->comfyui_i2v_workflow = load_template(v->comfyui_i2v_workflow, &st->comfyui_i2v_workflow_len, err, errlen);
	if (err[0])
		return errbuf_set(err, errlen, "COMFYUI_I2V_WORKFLOW=%s: cannot read it", v->comfyui_i2v_workflow);
	if (offline_default && !st->skip_media)
		return load_drawer(err, errlen);
	return 0;
}

/* Offline i2v: the keyframe at still moves slowly for the narration's length. */
static void do_clip(struct task *t, struct render_data *rd, const char *still)
{
	struct render_state *st = rd->state;
	char *tmp = storage_temp(st->storage, ".mp4"), err[512];
	snprintf(rd->video_key, sizeof(rd->video_key), "jobs/%s/shot-%d.mp4", t->env.job, t->env.shot);
	if (make_clip(still, rd->shot.frame_w, rd->shot.frame_h, MEDIA_FPS, rd->shot.est_ms, tmp, err, sizeof(err)) < 0)
		worker_task_fail(t, "render_failed", "the clip could not be made: %s", err);
	else if (storage_put(st->storage, rd->video_key, tmp, err, sizeof(err)) < 0)
		worker_task_fail(t, "storage_failed", "the clip could not be stored: %s", err);
	if (t->result != WORK_OK) {
		rd->video_key[0] = '\0';
		unlink(tmp);
	}
	free(tmp);
}

static void do_draw(uv_work_t *req)
{
	struct task *t = req->data;
	struct render_data *rd = t->data;
	struct render_state *st = rd->state;
	char *tmp = storage_temp(st->storage, ".jpg"), err[512];
	worker_task_log(t);
	t->result = WORK_OK;
	snprintf(rd->key, sizeof(rd->key), "jobs/%s/shot-%d.jpg", t->env.job, t->env.shot);
	if (draw(rd->shot.prompt, rd->shot.frame_w, rd->shot.frame_h, tmp, err, sizeof(err)) < 0)
		worker_task_fail(t, "render_failed", "the keyframe could not be drawn: %s", err);
	else if (rd->shot.video)
		do_clip(t, rd, tmp);
	if (t->result == WORK_OK && storage_put(st->storage, rd->key, tmp, err, sizeof(err)) < 0)
		worker_task_fail(t, "storage_failed", "the keyframe could not be stored: %s", err);
	if (t->result != WORK_OK) {
		rd->key[0] = '\0';
		unlink(tmp);
	}
	free(tmp);
	log_set_ctx(NULL);
}

static void after_draw(uv_work_t *req, int status)
{
	struct task *t = req->data;
	struct render_state *st = ((struct render_data *)t->data)->state;
	(void)status;
	st->drawing--;
	worker_task_done(t);
	if (st->stopped && st->drawing == 0)
		render_state_free(st);
}

static void start_offline(struct task *t, struct render_data *rd)
{
	char err[512];
	if (load_drawer(err, sizeof(err)) < 0) {
		worker_task_fail(t, "render_failed", "%s", err);
		worker_task_done(t);
		return;
	}
	rd->work.data = t;
	rd->state = worker_app(t->worker);
	rd->state->drawing++;
	uv_queue_work(worker_loop(t->worker), &rd->work, do_draw, after_draw);
}

static void on_answer(const struct http_client_response *r, void *arg)
{
	struct task *t = arg;
	struct render_data *rd = t->data;
	const struct render_provider *p = rd->provider;
	char err[512];
	worker_task_log(t);
	if (r->outcome != HTTP_CLIENT_DONE)
		worker_task_verdict(t, WORK_RETRY, "provider_unreachable", "%s did not answer: %s", p->info.name,
				    r->error);
	else if (r->status == 401 || r->status == 403)
		worker_task_verdict(t, WORK_FAIL, "auth", "%s refused our key (HTTP %d): check %s", p->info.name,
				    r->status, p->info.key_var);
	else if (retry_status_transient(r->status)) {
		int64_t wait = retry_after_ms(http_client_header(r, "retry-after"), time(NULL));
		t->retry_after_ms = wait > 0 ? (uint64_t)wait : 0;
		worker_task_verdict(t, WORK_RETRY, "provider_busy", "%s answered HTTP %d", p->info.name, r->status);
	} else if (r->status < 200 || r->status > 299)
		worker_task_verdict(t, WORK_FAIL, "rejected", "%s refused the shot (HTTP %d): %.300s", p->info.name,
				    r->status, r->body);
	else if (p->read(worker_app(t->worker), r->body, r->body_len, &rd->sub, err, sizeof(err)) < 0)
		worker_task_verdict(t, WORK_RETRY, "bad_answer", "%s: %s", p->info.name, err);
	else if (rd->sub.state == VENDOR_FAILED)
		worker_task_verdict(t, WORK_RETRY, "render_failed", "%s failed the shot at once: %s", p->info.name,
				    rd->sub.error);
	else {
		rd->http_status = r->status;
		t->result = WORK_OK;
		worker_task_done(t);
	}
	log_set_ctx(NULL);
}

/* Sends rq (built by the provider) on the loop; its strings are freed here. */
static void send_request(struct task *t, struct render_request *rq, size_t max_response, http_client_fn cb)
{
	struct render_state *st = worker_app(t->worker);
	struct render_data *rd = t->data;
	const struct http_client_request hr = { .method = rq->method,
						.url = rq->url,
						.headers = (const char *const *)rq->headers,
						.n_headers = rq->n_headers,
						.body = rq->body,
						.body_len = rq->body ? strlen(rq->body) : 0,
						.timeout_ms = st->vendors->submit_timeout_s * 1000,
						.max_response = max_response,
						.vendor = rd->provider->info.name };
	http_client_start(st->http, &hr, cb, t);
	free(rq->url);
	free(rq->body);
	for (size_t i = 0; i < rq->n_headers; i++)
		free(rq->headers[i]);
}

static void submit(struct task *t, struct render_data *rd)
{
	struct render_state *st = worker_app(t->worker);
	struct render_request rq = { 0 };
	char err[512], key[RENDER_TASK_KEY_LEN];
	render_provider_task_key(&rd->shot, key);
	/* The task key in the callback URL is how a lost prediction is found again (Replicate keeps the URL). */
	char *webhook = xasprintf("%s/webhooks/%s?job=%s&shot=%d&task=%s", st->public_url, rd->provider->info.name,
				  t->env.job, t->env.shot, key);
	vendors_result_release(&rd->sub);
	int rc = rd->provider->build(st, &rd->shot, webhook, &rq, err, sizeof(err));
	free(webhook);
	if (rc < 0) {
		worker_task_verdict(t, WORK_FAIL, "render_failed", "%s: %s", rd->provider->info.name, err);
		return;
	}
	send_request(t, &rq, 1 << 20, on_answer);
}

static void look_up(struct task *t, struct render_data *rd, char *next);

/* A lookup answer: the earlier submission is adopted when found, else the shot is sent. */
static void on_found(const struct http_client_response *r, void *arg)
{
	struct task *t = arg;
	struct render_data *rd = t->data;
	char err[512], key[RENDER_TASK_KEY_LEN], *next = NULL;
	int rc = -1;
	worker_task_log(t);
	render_provider_task_key(&rd->shot, key);
	if (r->outcome != HTTP_CLIENT_DONE || r->status != 200)
		snprintf(err, sizeof(err), "HTTP %d %s", r->status, r->error);
	else
		rc = rd->provider->found(worker_app(t->worker), key, r->body, r->body_len, &rd->sub, &next, err,
					 sizeof(err));
	if (rc == 1) {
		log_info("%s already has this shot's submission %s: adopted, not sent again", rd->provider->info.name,
			 rd->sub.id);
		rd->http_status = r->status;
		t->result = WORK_OK;
		worker_task_done(t);
	} else if (rc < 0) {
		/* Sending blindly could pay twice: the lookup is retried like a failed submission. */
		worker_task_verdict(t, WORK_RETRY, "provider_unreachable",
				    "%s: looking for an earlier submission failed: %s", rd->provider->info.name, err);
	} else if (next && ++rd->pages < FIND_MAX_PAGES) {
		look_up(t, rd, next);
		next = NULL;
	} else {
		submit(t, rd);
	}
	free(next);
	log_set_ctx(NULL);
}

/* Asks the vendor where the provider says (next taken over, or NULL for the first place). */
static void look_up(struct task *t, struct render_data *rd, char *next)
{
	struct render_request rq = { 0 };
	char key[RENDER_TASK_KEY_LEN];
	render_provider_task_key(&rd->shot, key);
	rd->provider->find(worker_app(t->worker), key, next, &rq);
	send_request(t, &rq, 4 << 20, on_found);
}

static void start_remote(struct task *t, struct render_data *rd)
{
	rd->pages = 0;
	rd->sent_at = uv_now(worker_loop(t->worker));
	if (rd->look_first && rd->provider->find)
		look_up(t, rd, NULL);
	else
		submit(t, rd);
}

void render_submit_start(struct task *t)
{
	struct render_data *rd = t->data;
	if (rd->provider)
		start_remote(t, rd);
	else
		start_offline(t, rd);
}

void render_submit_data_free(struct render_data *rd)
{
	if (!rd)
		return;
	free(rd->shot.prompt);
	free(rd->shot.image_key);
	vendors_result_release(&rd->sub);
	free(rd);
}
