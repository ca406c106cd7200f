/*
 * DESIGN: a shot is a chain of callbacks. With a vendor: split the narration
 * under the vendor's limit, send the parts one after another on the loop
 * (http_client), keep each answer, then decode, trim, join and store on the
 * thread pool, and call worker_task_done. A retry comes back as a new
 * message (common/reconcile) and speaks every part again; each call of each
 * attempt is recorded for provider_calls. With espeak the whole shot runs
 * on the thread pool.
 * Failures are sorted by what helps: 429/5xx, timeouts and unreachable
 * servers are retried by the worker loop with backoff (at least the vendor's
 * Retry-After); a refused key or a voice that does not exist fails the job
 * at once; another refused request or audio that cannot be decoded fails
 * the shot.
 */
#include "speak.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "narration.h"
#include "pcm.h"
#include "retry.h"
#include "storage.h"
#include "timing.h"
#include "banned.h"

static void send_part(struct speak_state *st, struct task *t);

/* Ends the attempt with the reason worker_task_fail wrote: retry later or fail for
 * good. */
static void end(struct task *t, enum work_result result)
{
	t->result = result;
	worker_task_done(t);
}

static uint64_t asked_wait_ms(const struct http_client_response *r)
{
	int64_t wait = retry_after_ms(http_client_header(r, "retry-after"), time(NULL));
	return wait > 0 ? (uint64_t)wait : 0;
}

/* Stores the written file under the shot's key; 0 or -1 with t failed. */
static int store(struct task *t, const char *tmp)
{
	struct speak_data *sd = t->data;
	char err[300];
	snprintf(sd->key, sizeof(sd->key), "jobs/%s/shot-%d.wav", t->env.job, t->env.shot);
	if (storage_put(sd->storage, sd->key, tmp, err, sizeof(err)) < 0) {
		worker_task_fail(t, "storage_failed", "the narration could not be stored: %s", err);
		return -1;
	}
	return 0;
}

/* Thread pool: espeak speaks the whole narration; timings are estimated. */
static void espeak_work(uv_work_t *req)
{
	struct task *t = req->data;
	struct speak_state *st = worker_app(t->worker);
	struct speak_data *sd = t->data;
	const struct tts_request rq = { sd->text, sd->language, sd->voice };
	struct timing_list tl = { 0 };
	char *tmp = storage_temp(sd->storage, ".wav"), err[512];
	worker_task_log(t);
	int rc = st->espeak->synthesize(&rq, tmp, &sd->res, err, sizeof(err));
	if (rc == TTS_NO_VOICE) {
		worker_task_fail(t, "unknown_voice", "the narration could not be spoken: %s", err);
	} else if (rc != TTS_OK) {
		worker_task_fail(t, "tts_failed", "the narration could not be spoken: %s", err);
	} else if (store(t, tmp) == 0) {
		timing_estimate(&tl, sd->text, PCM_PAD_MS, sd->res.duration_ms - 2 * PCM_PAD_MS);
		sd->timings = timing_json(&tl);
		timing_release(&tl);
	}
	if (t->result != WORK_OK)
		unlink(tmp);
	free(tmp);
}

/* The timings of the joined audio: the vendor's words where it sent them,
 * else each part's sentences spread over that part. */
static char *part_timings(const struct speak_data *sd, const struct tts_part *parts)
{
	struct timing_list tl = { 0 };
	for (size_t i = 0; i < sd->n_parts; i++) {
		if (sd->audio[i].n_words)
			timing_shift(&tl, sd->audio[i].words, sd->audio[i].n_words, parts[i].shift_ms,
				     sd->res.duration_ms);
		else
			timing_estimate(&tl, sd->parts[i], parts[i].start_ms + PCM_PAD_MS,
					parts[i].duration_ms - 2 * PCM_PAD_MS);
	}
	char *json = timing_json(&tl);
	timing_release(&tl);
	return json;
}

/* Thread pool: the vendor's parts become one stored WAV. */
static void assemble_work(uv_work_t *req)
{
	struct task *t = req->data;
	struct speak_state *st = worker_app(t->worker);
	struct speak_data *sd = t->data;
	struct tts_part *parts = xcalloc(sd->n_parts, sizeof(*parts));
	char *tmp = storage_temp(sd->storage, ".wav"), err[512];
	worker_task_log(t);
	for (size_t i = 0; i < sd->n_parts; i++)
		parts[i] = (struct tts_part){ .data = sd->audio[i].data,
					      .len = sd->audio[i].len,
					      .raw_rate = sd->audio[i].raw_rate };
	if (st->assemble(parts, sd->n_parts, tmp, &sd->res, err, sizeof(err)) < 0)
		worker_task_fail(t, "bad_audio", "the %s provider returned audio that cannot be used: %s",
				 sd->vendor->info.name, err);
	else if (store(t, tmp) == 0)
		sd->timings = part_timings(sd, parts);
	if (t->result != WORK_OK)
		unlink(tmp);
	free(tmp);
	free(parts);
}

static void after_work(uv_work_t *req, int status)
{
	struct task *t = req->data;
	(void)status;
	worker_task_done(t);
}

static void queue_work(struct task *t, uv_work_cb fn)
{
	struct speak_data *sd = t->data;
	sd->work.data = t;
	t->result = WORK_OK;
	uv_queue_work(worker_loop(t->worker), &sd->work, fn, after_work);
}

/* The usage record of the call r answers; its outcome is set by the caller. */
static struct provider_call *record(struct task *t, const struct http_client_response *r)
{
	struct speak_data *sd = t->data;
	sd->calls = xrealloc(sd->calls, (sd->n_calls + 1) * sizeof(*sd->calls));
	struct provider_call *c = &sd->calls[sd->n_calls++];
	*c = (struct provider_call){ .job = t->env.job,
				     .shot = t->env.shot,
				     .provider = sd->vendor->info.name,
				     .purpose = "speech",
				     .attempt = t->work_attempts,
				     .http_status = r->outcome == HTTP_CLIENT_DONE ? r->status : 0,
				     .characters = (long)narration_chars(sd->parts[sd->done]),
				     .latency_ms = (long)r->elapsed_ms,
				     .outcome = "ok" };
	snprintf(c->model, sizeof(c->model), "%s", sd->vendor->model(sd->vendor_cfg));
	return c;
}

/* Ends the attempt after a failed call, whose record keeps the reason worker_task_fail wrote. */
static void end_call(struct task *t, const char *outcome, enum work_result result)
{
	struct speak_data *sd = t->data;
	struct provider_call *c = &sd->calls[sd->n_calls - 1];
	c->outcome = outcome;
	provider_calls_error(c, "%s", t->error);
	end(t, result);
}

static void on_error_status(struct task *t, const struct http_client_response *r)
{
	struct speak_data *sd = t->data;
	const char *name = sd->vendor->info.name;
	char msg[300];
	sd->vendor->error_text(r->body, r->body_len, msg, sizeof(msg));
	if (r->status == 401 || r->status == 403) {
		worker_task_fail(t, "provider_auth", "the %s provider refused the key in %s (HTTP %d: %s)", name,
				 sd->vendor->info.key_var, r->status, msg);
		return end_call(t, "auth", WORK_FAIL);
	}
	if (retry_status_transient(r->status)) {
		t->retry_after_ms = asked_wait_ms(r);
		worker_task_fail(t, r->status == 429 ? "provider_rate_limited" : "provider_unavailable",
				 "the %s provider answered HTTP %d: %s", name, r->status, msg);
		return end_call(t, r->status == 429 ? "rate_limited" : "server_error", WORK_RETRY);
	}
	worker_task_fail(t, "provider_rejected", "the %s provider refused the request (HTTP %d: %s)", name, r->status,
			 msg);
	end_call(t, "rejected", WORK_FAIL);
}

static void on_answer(const struct http_client_response *r, void *arg)
{
	struct task *t = arg;
	struct speak_data *sd = t->data;
	struct speak_state *st = worker_app(t->worker);
	char why[300];
	sd->call = NULL;
	worker_task_log(t);
	record(t, r);
	switch (r->outcome) {
	case HTTP_CLIENT_TIMEOUT:
		worker_task_fail(t, "provider_timeout",
				 "the %s provider did not answer within %ld s (REEL_TTS_TIMEOUT_S)",
				 sd->vendor->info.name, st->settings->timeout_s);
		return end_call(t, "timeout", WORK_RETRY);
	case HTTP_CLIENT_TOO_LARGE:
		worker_task_fail(t, "answer_too_large", "the %s answer was larger than %ld KB (REEL_TTS_MAX_AUDIO_KB)",
				 sd->vendor->info.name, st->settings->max_audio_kb);
		return end_call(t, "oversize", WORK_FAIL);
	case HTTP_CLIENT_FAILED:
		worker_task_fail(t, "provider_unreachable", "the %s provider could not be reached: %s",
				 sd->vendor->info.name, r->error);
		return end_call(t, "failed", WORK_RETRY);
	case HTTP_CLIENT_DONE: break;
	}
	if (r->status < 200 || r->status >= 300)
		return on_error_status(t, r);
	struct tts_audio *a = &sd->audio[sd->done];
	if (sd->vendor->read(sd->vendor_cfg, r->body, r->body_len, a, why, sizeof(why)) < 0) {
		tts_provider_audio_release(a);
		worker_task_fail(t, "bad_audio", "the %s provider answered in an unknown shape: %s",
				 sd->vendor->info.name, why);
		return end_call(t, "invalid", WORK_FAIL);
	}
	if (a->len == 0) {
		tts_provider_audio_release(a);
		worker_task_fail(t, "bad_audio", "the %s provider returned an empty audio body", sd->vendor->info.name);
		return end_call(t, "empty", WORK_FAIL);
	}
	sd->done++;
	send_part(st, t);
}

static void send_part(struct speak_state *st, struct task *t)
{
	struct speak_data *sd = t->data;
	struct tts_http rq = { 0 };
	if (sd->done == sd->n_parts)
		return queue_work(t, assemble_work);
	sd->vendor->build(sd->vendor_cfg, sd->parts[sd->done], sd->language, sd->voice, &rq);
	struct http_client_request hr = { .method = "POST",
					  .url = rq.url,
					  .headers = (const char *const *)rq.headers,
					  .n_headers = rq.n_headers,
					  .body = rq.body,
					  .body_len = strlen(rq.body),
					  .timeout_ms = st->settings->timeout_s * 1000,
					  .max_response = (size_t)st->settings->max_audio_kb * 1024,
					  .vendor = sd->vendor->info.name };
	sd->call = http_client_start(st->http, &hr, on_answer, t);
	free(rq.url);
	free(rq.body);
	for (size_t i = 0; i < rq.n_headers; i++)
		free(rq.headers[i]);
	if (!sd->call) {
		worker_task_fail(t, "internal", "the request to the %s provider could not be started",
				 sd->vendor->info.name);
		end(t, WORK_RETRY);
	}
}

void speak_start(struct speak_state *st, struct task *t)
{
	struct speak_data *sd = t->data;
	if (!sd->vendor)
		return queue_work(t, espeak_work);
	if (!sd->parts) {
		sd->n_parts = narration_split(sd->text, (size_t)sd->vendor->max_chars(sd->vendor_cfg), &sd->parts);
		if (sd->n_parts == 0) {
			worker_task_fail(t, "empty_narration", "the shot has no narration to speak");
			return end(t, WORK_FAIL);
		}
		sd->audio = xcalloc(sd->n_parts, sizeof(*sd->audio));
		log_info("speaking %zu part(s) with %s, voice %s", sd->n_parts, sd->vendor->info.name,
			 sd->voice ? sd->voice : "(default)");
	}
	send_part(st, t);
}

void speak_data_free(struct speak_data *sd)
{
	if (!sd)
		return;
	if (sd->call)
		http_client_cancel(sd->call);
	for (size_t i = 0; sd->audio && i < sd->n_parts; i++)
		tts_provider_audio_release(&sd->audio[i]);
	free(sd->audio);
	narration_free(sd->parts, sd->n_parts);
	free(sd->text);
	free(sd->language);
	free(sd->voice);
	free(sd->timings);
	free(sd->calls);
	free(sd);
}
