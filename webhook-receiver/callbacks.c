/*
 * The vendors' callbacks. Each is verified over its raw bytes before
 * anything is parsed: a missing, wrong or stale signature is 401 and changes
 * nothing; a delivery id already recorded is 200 and changes nothing (the
 * receipt is written with the task's end, settle.c); else the task is
 * finished and the vendor hears 200 only once that committed, so a failure
 * on our side is a 503 it delivers again.
 * fal's signing keys come from FAL_JWKS_FILE, or from FAL_JWKS_URL, fetched
 * in the background and again when a day old or when a signature matches
 * none of them (fal rotates keys).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"
#include "monotime.h"
#include "settle.h"
#include "vendors/fal_queue.h"
#include "http_client.h"
#include "log.h"
#include "metrics.h"
#include "receiver.h"
#include "vendors/replicate_api.h"
#include "banned.h"

#define KEYS_MAX_AGE_MS (24ull * 3600 * 1000)
#define KEYS_REFETCH_MS 60000ull

struct pending {
	struct receiver *rc;
	struct http_exchange *x; /* NULL once the vendor hung up */
};

static struct receiver *receiver_of(void *arg)
{
	return ((struct daemon *)arg)->app;
}

static void on_abort(struct http_exchange *x, void *arg)
{
	struct pending *p = arg;
	(void)x;
	p->x = NULL;
}

static void replayed(struct receiver *rc, struct http_exchange *x)
{
	metrics_add(rc->m_replayed, 1);
	http_reply(x, 200, "application/json", "{\"ok\":true,\"replayed\":true}", 27);
}

static void on_finished(void *arg, int status, const char *detail)
{
	struct pending *p = arg;
	if (p->x && status == 200 && strcmp(detail, "replayed") == 0)
		replayed(p->rc, p->x);
	else if (p->x && status == 200)
		http_reply(p->x, 200, "application/json", "{\"ok\":true}", 11);
	else if (p->x)
		http_problem(p->x, status, "try-again", "The callback could not be recorded", detail, NULL);
	free(p);
}

static void take(struct receiver *rc, struct http_exchange *x, const char *provider, const char *delivery_id,
		 struct vendor_result *res)
{
	struct pending *p = xcalloc(1, sizeof(*p));
	p->rc = rc;
	p->x = x;
	http_on_abort(x, on_abort, p);
	settle_task(rc, provider, delivery_id, res, on_finished, p);
}

static void refused(struct receiver *rc, struct http_exchange *x, const char *why, const char *field)
{
	metrics_add(rc->m_refused, 1);
	log_warn("callback refused: %s", why);
	http_problem(x, 401, "bad-signature", "The callback's signature is not valid", why, field);
}

void callbacks_replicate(struct http_exchange *x, void *arg)
{
	struct receiver *rc = receiver_of(arg);
	struct http_request *rq = http_request_of(x);
	const char *id = http_header(rq, "webhook-id");
	struct vendor_result res;
	char why[256];
	metrics_add(rc->m_callbacks, 1);
	if (replicate_api_verify(rc->v->replicate_secret, id, http_header(rq, "webhook-timestamp"),
				 http_header(rq, "webhook-signature"), rq->body, rq->body_len, time(NULL),
				 rc->v->tolerance_s, why, sizeof(why)) < 0)
		return refused(rc, x, why, "webhook-signature");
	if (replicate_api_read(rq->body, rq->body_len, &res, why, sizeof(why)) < 0)
		return http_problem(x, 400, "bad-callback", "The callback is not a prediction", why, "body");
	take(rc, x, "replicate", id, &res);
}

static void on_jwks(const struct http_client_response *r, void *arg)
{
	struct receiver *rc = arg;
	char err[256];
	rc->fal_fetching = false;
	if (r->outcome != HTTP_CLIENT_DONE || r->status != 200) {
		log_warn("FAL_JWKS_URL=%s could not be fetched: %s (HTTP %d)", rc->v->fal_jwks_url, r->error,
			 r->status);
		return;
	}
	struct fal_keys *keys = fal_queue_keys_parse(r->body, r->body_len, err, sizeof(err));
	if (!keys) {
		log_warn("FAL_JWKS_URL=%s: %s", rc->v->fal_jwks_url, err);
		return;
	}
	fal_queue_keys_free(rc->fal_keys);
	rc->fal_keys = keys;
	rc->fal_keys_ms = monotime_ms();
	log_info("loaded fal's webhook keys from %s", rc->v->fal_jwks_url);
}

/* Fetches the keys again unless a fetch runs, they come from a file, or they are fresh. */
static void refresh_keys(struct receiver *rc, uint64_t older_than_ms)
{
	if (rc->fal_fetching || (rc->v->fal_jwks_file && *rc->v->fal_jwks_file) ||
	    (rc->fal_keys && monotime_ms() - rc->fal_keys_ms < older_than_ms))
		return;
	const struct http_client_request rq = {
		.url = rc->v->fal_jwks_url, .timeout_ms = 10000, .max_response = 1 << 16, .vendor = "fal"
	};
	rc->fal_fetching = http_client_start(rc->http, &rq, on_jwks, rc) != NULL;
}

int callbacks_init(struct receiver *rc, char *err, size_t errlen)
{
	const char *file = rc->v->fal_jwks_file;
	size_t len;
	if (!file || !*file) {
		if (rc->v->fal_key && *rc->v->fal_key)
			refresh_keys(rc, 0); /* fal is in use: have the keys before its first callback */
		return 0;
	}
	char *text = vendors_read_file(file, &len, err, errlen), why[256];
	if (!text)
		return errbuf_set(err, errlen, "FAL_JWKS_FILE=%s: cannot read it", file);
	rc->fal_keys = fal_queue_keys_parse(text, len, why, sizeof(why));
	free(text);
	if (!rc->fal_keys)
		return errbuf_set(err, errlen, "FAL_JWKS_FILE=%s: %s", file, why);
	rc->fal_keys_ms = monotime_ms();
	return 0;
}

void callbacks_fal(struct http_exchange *x, void *arg)
{
	struct receiver *rc = receiver_of(arg);
	struct http_request *rq = http_request_of(x);
	const char *id = http_header(rq, "x-fal-webhook-request-id");
	struct vendor_result res;
	char why[256];
	metrics_add(rc->m_callbacks, 1);
	refresh_keys(rc, KEYS_MAX_AGE_MS);
	if (!rc->fal_keys)
		return http_problem(x, 503, "keys-unavailable", "fal's signing keys are not loaded yet",
				    "FAL_JWKS_URL could not be fetched; deliver again later", NULL);
	if (fal_queue_verify(rc->fal_keys, id, http_header(rq, "x-fal-webhook-user-id"),
			     http_header(rq, "x-fal-webhook-timestamp"), http_header(rq, "x-fal-webhook-signature"),
			     rq->body, rq->body_len, time(NULL), rc->v->tolerance_s, why, sizeof(why)) < 0) {
		refresh_keys(rc, KEYS_REFETCH_MS); /* perhaps a key we have not seen yet */
		return refused(rc, x, why, "x-fal-webhook-signature");
	}
	if (fal_queue_read_webhook(rq->body, rq->body_len, &res, why, sizeof(why)) < 0)
		return http_problem(x, 400, "bad-callback", "The callback is not a fal webhook", why, "body");
	if (strcmp(res.id, id) != 0) {
		vendors_result_release(&res);
		return refused(rc, x, "the body's request_id differs from the signed X-Fal-Webhook-Request-Id",
			       "request_id");
	}
	take(rc, x, "fal", id, &res);
}
