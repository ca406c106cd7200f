/*
 * DESIGN: the sweeper runs every REEL_RENDER_POLL_MS on the loop, one
 * short transaction per question, at most SWEEP_BATCH rows each:
 * - tasks whose jobs ended (canceled, failed) are marked canceled and the
 *   vendor is asked to cancel them (Replicate POST .../cancel, fal PUT
 *   cancel_url, ComfyUI /queue delete and /interrupt);
 * - failed tasks whose backoff is over ('retry') send their shot back to
 *   render-worker through the outbox;
 * - submitted tasks past their deadline (a missed callback, or ComfyUI,
 *   which never calls back) are polled: their deadline moves on first, so
 *   a slow vendor is never polled twice at once, and a task older than
 *   REEL_RENDER_MAX_AGE_S fails as provider_timeout (and is retried).
 * The sweeper lives in the webhook-receiver because finishing a polled
 * task is the same work as finishing a called-back one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settle.h"
#include "str.h"
#include "vendors/comfyui_api.h"
#include "db.h"
#include "vendors/fal_queue.h"
#include "http_client.h"
#include "json.h"
#include "log.h"
#include "outbox.h"
#include "receiver.h"
#include "vendors/replicate_api.h"
#include "retry.h"
#include "banned.h"

#define SWEEP_BATCH 64
#define MAX_POLLS 256

/* One poll of a vendor task; fal takes two calls (status, then result). */
struct poll {
	struct receiver *rc;
	char provider[16];
	char id[128];
	char *result_url; /* fal: the result's address, from the submission (or the status answer) */
	bool reading;     /* fal: the status said COMPLETED; this call reads the result */
};

static void auth_header(const struct receiver *rc, const char *provider, char *out, size_t outlen)
{
	out[0] = '\0';
	if (strcmp(provider, "replicate") == 0 && rc->v->replicate_token)
		snprintf(out, outlen, "Authorization: Bearer %s", rc->v->replicate_token);
	else if (strcmp(provider, "fal") == 0 && rc->v->fal_key)
		snprintf(out, outlen, "Authorization: Key %s", rc->v->fal_key);
}

static void call(struct receiver *rc, const char *provider, const char *method, const char *url, const char *body,
		 http_client_fn cb, void *arg)
{
	char auth[512];
	const char *headers[2] = { "Content-Type: application/json", auth };
	auth_header(rc, provider, auth, sizeof(auth));
	const struct http_client_request rq = { .method = method,
						.url = url,
						.headers = headers,
						.n_headers = auth[0] ? 2 : 1,
						.body = body,
						.body_len = body ? strlen(body) : 0,
						.timeout_ms = 30000,
						.vendor = provider };
	rc->sweeps_running++;
	if (!http_client_start(rc->http, &rq, cb, arg))
		rc->sweeps_running--;
}

static void on_polled_done(void *arg, int status, const char *detail)
{
	struct poll *p = arg;
	if (status != 200)
		log_warn("finishing polled task %s/%s: %s", p->provider, p->id, detail);
	free(p->result_url);
	free(p);
}

static void on_poll(const struct http_client_response *r, void *arg)
{
	struct poll *p = arg;
	struct vendor_result res = { 0 };
	char err[256];
	int rc_ = -1;
	p->rc->sweeps_running--;
	if (p->reading && r->outcome == HTTP_CLIENT_DONE && r->status >= 400 && !retry_status_transient(r->status)) {
		/* fal answers a failed request's result with its error. */
		res.state = VENDOR_FAILED;
		str_copy(res.id, p->id, sizeof(res.id));
		snprintf(res.error, sizeof(res.error), "fal's result answered HTTP %d: %.300s", r->status, r->body);
		settle_task(p->rc, p->provider, NULL, &res, on_polled_done, p);
		return;
	}
	if (r->outcome != HTTP_CLIENT_DONE || r->status != 200) {
		log_warn("polling %s task %s: %s (HTTP %d)", p->provider, p->id, r->error, r->status);
		on_polled_done(p, 200, "");
		return;
	}
	if (strcmp(p->provider, "replicate") == 0)
		rc_ = replicate_api_read(r->body, r->body_len, &res, err, sizeof(err));
	else if (strcmp(p->provider, "comfyui") == 0)
		rc_ = comfyui_api_read_history(r->body, r->body_len, p->id, p->rc->v->comfyui_url, &res, err,
					       sizeof(err));
	else if (!p->reading) /* fal, first call: the status */
		rc_ = fal_queue_read_queue(r->body, r->body_len, &res, err, sizeof(err));
	else if ((rc_ = fal_queue_read_result(r->body, r->body_len, &res, err, sizeof(err))) == 0)
		str_copy(res.id, p->id, sizeof(res.id));
	if (rc_ == 0 && strcmp(p->provider, "fal") == 0 && !p->reading && res.state == VENDOR_SUCCEEDED) {
		if (res.result_url) {
			free(p->result_url);
			p->result_url = xstrdup(res.result_url);
		}
		p->reading = true;
		vendors_result_release(&res);
		if (p->result_url)
			call(p->rc, "fal", "GET", p->result_url, NULL, on_poll, p);
		else
			on_polled_done(p, 200, "");
		return;
	}
	if (rc_ < 0) {
		log_warn("polling %s task %s: %s", p->provider, p->id, err);
		on_polled_done(p, 200, "");
		return;
	}
	settle_task(p->rc, p->provider, NULL, &res, on_polled_done, p);
}

static void on_cancel_sent(const struct http_client_response *r, void *arg)
{
	struct receiver *rc = arg;
	rc->sweeps_running--;
	if (r->outcome != HTTP_CLIENT_DONE || r->status >= 400)
		log_warn("a vendor cancel was not accepted: %s (HTTP %d)", r->error, r->status);
}

static char *meta_url(const char *meta, const char *name)
{
	cJSON *m = json_parse(meta, strlen(meta));
	const char *u = json_str(m, name);
	char *out = u ? xstrdup(u) : NULL;
	cJSON_Delete(m);
	return out;
}

static void cancel_at_vendor(struct receiver *rc, const char *provider, const char *id, const char *meta)
{
	char *url = meta_url(meta, "cancel"), *body;
	if (strcmp(provider, "replicate") == 0) {
		if (!url)
			url = xasprintf("%s/predictions/%s/cancel", rc->v->replicate_base_url, id);
		call(rc, provider, "POST", url, "{}", on_cancel_sent, rc);
	} else if (strcmp(provider, "fal") == 0 && url) {
		call(rc, provider, "PUT", url, NULL, on_cancel_sent, rc);
	} else if (strcmp(provider, "comfyui") == 0) {
		free(url);
		url = xasprintf("%s/queue", rc->v->comfyui_url);
		body = xasprintf("{\"delete\":[\"%s\"]}", id);
		call(rc, provider, "POST", url, body, on_cancel_sent, rc);
		free(url);
		free(body);
		/* Running prompts leave the queue only when interrupted. */
		url = xasprintf("%s/interrupt", rc->v->comfyui_url);
		body = xasprintf("{\"prompt_id\":\"%s\"}", id);
		call(rc, provider, "POST", url, body, on_cancel_sent, rc);
		free(body);
	}
	free(url);
}

/* Runs one statement in its own transaction; its rows, or NULL. */
static PGresult *tx_rows(struct receiver *rc, const char *sql, int n, const char *const *params,
			 void (*each)(struct receiver *rc, PGresult *r, int row))
{
	if (db_begin(rc->d->db) < 0)
		return NULL;
	PGresult *r = db_exec(rc->d->db, sql, n, params);
	for (int row = 0; r && each && row < PQntuples(r); row++)
		each(rc, r, row);
	if (!r || daemon_commit(rc->d) < 0) {
		if (!r)
			daemon_rollback(rc->d);
		PQclear(r);
		return NULL;
	}
	outbox_publish(rc->d->outbox);
	return r;
}

static void sweep_canceled(struct receiver *rc)
{
	static const char sql[] =
		"UPDATE provider_tasks p SET status = 'canceled', updated_at = now() FROM jobs j "
		"WHERE p.id IN (SELECT p2.id FROM provider_tasks p2 JOIN jobs j2 ON j2.id = p2.job_id "
		"WHERE p2.status IN ('submitted', 'retry') AND j2.status IN ('canceled', 'failed') LIMIT 64) "
		"AND j.id = p.job_id RETURNING p.provider, p.external_id, p.meta::text";
	PGresult *r = tx_rows(rc, sql, 0, NULL, NULL);
	for (int row = 0; r && row < PQntuples(r); row++) {
		log_info("job ended: canceling %s task %s", PQgetvalue(r, row, 0), PQgetvalue(r, row, 1));
		cancel_at_vendor(rc, PQgetvalue(r, row, 0), PQgetvalue(r, row, 1), PQgetvalue(r, row, 2));
	}
	PQclear(r);
}

static void emit_retry(struct receiver *rc, PGresult *r, int row)
{
	if (strcmp(PQgetvalue(r, row, 3), "producing") == 0)
		finish_emit(rc, "render", PQgetvalue(r, row, 0), atoi(PQgetvalue(r, row, 1)), PQgetvalue(r, row, 2));
}

static void sweep_retries(struct receiver *rc)
{
	static const char sql[] =
		"UPDATE provider_tasks p SET status = 'retried', updated_at = now() FROM jobs j "
		"WHERE p.id IN (SELECT id FROM provider_tasks WHERE status = 'retry' AND deadline < now() "
		"ORDER BY deadline LIMIT 64 FOR UPDATE SKIP LOCKED) AND j.id = p.job_id "
		"RETURNING p.job_id, p.shot, j.trace, j.status";
	PQclear(tx_rows(rc, sql, 0, NULL, emit_retry));
}

static void poll_one(struct receiver *rc, PGresult *r, int row)
{
	struct poll *p = xcalloc(1, sizeof(*p));
	const char *provider = PQgetvalue(r, row, 0), *id = PQgetvalue(r, row, 1), *meta = PQgetvalue(r, row, 2);
	char *url = meta_url(meta, "get");
	p->rc = rc;
	p->result_url = meta_url(meta, "result");
	str_copy(p->provider, provider, sizeof(p->provider));
	str_copy(p->id, id, sizeof(p->id));
	if (!url && strcmp(provider, "replicate") == 0)
		url = xasprintf("%s/predictions/%s", rc->v->replicate_base_url, id);
	if (!url && strcmp(provider, "comfyui") == 0)
		url = xasprintf("%s/history/%s", rc->v->comfyui_url, id);
	if (url) {
		call(rc, provider, "GET", url, NULL, on_poll, p);
	} else {
		free(p->result_url);
		free(p);
	}
	free(url);
}

static int fail_old(struct receiver *rc, PGresult *r)
{
	char msg[160];
	for (int row = 0; row < PQntuples(r); row++) {
		if (strcmp(PQgetvalue(r, row, 3), "t") != 0)
			continue;
		snprintf(msg, sizeof(msg), "the %s task got no result within %ld s", PQgetvalue(r, row, 0),
			 rc->v->max_age_s);
		if (finish_fail(rc, PQgetvalue(r, row, 0), PQgetvalue(r, row, 1), "provider_timeout", msg, true) < 0)
			return -1;
	}
	return 0;
}

static void sweep_overdue(struct receiver *rc)
{
	static const char sql[] =
		"UPDATE provider_tasks p SET deadline = now() + $1::bigint * interval '1 millisecond' "
		"WHERE p.id IN (SELECT id FROM provider_tasks WHERE status = 'submitted' AND deadline < now() "
		"ORDER BY deadline LIMIT 64 FOR UPDATE SKIP LOCKED) "
		"RETURNING p.provider, p.external_id, p.meta::text, p.created_at < now() - $2::bigint * interval '1 second'";
	char poll[24], age[24];
	if (rc->sweeps_running > MAX_POLLS)
		return; /* a slow vendor: let the polls in flight end first */
	snprintf(poll, sizeof(poll), "%ld", rc->v->poll_ms);
	snprintf(age, sizeof(age), "%ld", rc->v->max_age_s);
	if (db_begin(rc->d->db) < 0)
		return;
	PGresult *r = db_exec(rc->d->db, sql, 2, (const char *const[]){ poll, age });
	if (!r || fail_old(rc, r) < 0) {
		daemon_rollback(rc->d);
		PQclear(r);
		return;
	}
	if (daemon_commit(rc->d) < 0) {
		PQclear(r);
		return;
	}
	outbox_publish(rc->d->outbox);
	for (int row = 0; row < PQntuples(r); row++)
		if (strcmp(PQgetvalue(r, row, 3), "t") != 0)
			poll_one(rc, r, row);
	PQclear(r);
}

static void on_sweep(uv_timer_t *t)
{
	struct receiver *rc = t->data;
	if (rc->d->stopping || !db_ok(rc->d->db)) {
		if (!db_ok(rc->d->db))
			daemon_db_lost(rc->d);
		return;
	}
	sweep_canceled(rc);
	sweep_retries(rc);
	sweep_overdue(rc);
}

void sweeper_start(struct receiver *rc)
{
	uv_timer_init(rc->d->loop, &rc->sweep_timer);
	rc->sweep_timer.data = rc;
	uv_timer_start(&rc->sweep_timer, on_sweep, (uint64_t)rc->v->poll_ms, (uint64_t)rc->v->poll_ms);
}

void sweeper_stop(struct receiver *rc)
{
	uv_timer_stop(&rc->sweep_timer);
	uv_close((uv_handle_t *)&rc->sweep_timer, NULL);
}
