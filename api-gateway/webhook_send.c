/*
 * Delivers outbound webhooks from the gateway's loop.
 *
 * DESIGN
 * - Rows are claimed with one UPDATE ... FOR UPDATE SKIP LOCKED that counts
 *   the attempt and pushes next_attempt_at five minutes out (a lease): any
 *   number of gateways share the table, and a gateway that dies mid-attempt
 *   leaves a row that another retries after the lease.
 * - Each attempt resolves the URL's host on the thread pool, refuses
 *   private addresses (unless allowed) and has libcurl connect to the
 *   address it checked (CURLOPT_RESOLVE), so a name answering differently the
 *   second time cannot reach inside; TLS still verifies the URL's host.
 * - POSTs run on the shared libcurl multi client, at most MAX_IN_FLIGHT at
 *   once, redirects not followed. 2xx delivers, 410 gives up, anything else
 *   retries after base * 2^(n-1) (or a longer Retry-After, at most an
 *   hour) until give_up_at, a day after the job ended. The outcome and the
 *   attempt row are written in one statement.
 * - A one-second tick and NOTIFY webhook_deliveries start the claims.
 */
#include "webhook_send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "daemon.h"
#include "db.h"
#include "http_client.h"
#include "log.h"
#include "monotime.h"
#include "retry.h"
#include "str.h"
#include "webhook.h"
#include "banned.h"

#define MAX_IN_FLIGHT 32
#define TICK_MS 1000
#define BACKOFF_CAP_MS 3600000ull

struct attempt {
	struct webhook_sender *ws; /* NULL once the sender is gone while resolving */
	struct attempt *prev, *next;
	struct http_client_call *call; /* NULL while resolving */
	char id[24];
	char n[12]; /* the attempt's number */
	char *msg_id, *url, *payload;
	uint64_t started_ms;
};

struct webhook_sender {
	struct daemon *d;
	struct http_client *http;
	uv_timer_t tick;
	unsigned char key[WEBHOOK_KEY_MAX];
	size_t keylen;
	bool allow_private;
	const char *public_base; /* data.url is made absolute with it, when set */
	long timeout_ms;
	uint64_t base_ms;
	struct attempt *attempts; /* in flight */
	size_t n_attempts;
};

uint64_t webhook_send_backoff_ms(uint64_t base_ms, long attempts)
{
	uint64_t d = base_ms ? base_ms : 1;
	for (long i = 1; i < attempts && d < BACKOFF_CAP_MS; i++)
		d *= 2;
	return d < BACKOFF_CAP_MS ? d : BACKOFF_CAP_MS;
}

static void attempt_free(struct attempt *a)
{
	struct webhook_sender *ws = a->ws;
	if (ws) {
		if (a->prev)
			a->prev->next = a->next;
		else
			ws->attempts = a->next;
		if (a->next)
			a->next->prev = a->prev;
		ws->n_attempts--;
	}
	free(a->msg_id);
	free(a->url);
	free(a->payload);
	free(a);
}

/* Records the attempt and the delivery's next state in one statement. */
static void finish(struct attempt *a, int status, const char *error, const char *outcome, uint64_t delay_ms)
{
	static const char sql[] =
		"WITH a AS (INSERT INTO webhook_attempts (delivery_id, attempt, http_status, error, duration_ms) "
		"VALUES ($1, $2, $3::int, $4, $5)), t AS (SELECT now() + $7::bigint * interval '1 millisecond' AS next) "
		"UPDATE webhook_deliveries SET last_status = $3::int, last_error = $4, next_attempt_at = t.next, "
		"status = CASE WHEN $6 = 'delivered' THEN 'delivered' WHEN $6 = 'gone' OR t.next > give_up_at "
		"THEN 'failed' ELSE 'pending' END, "
		"finished_at = CASE WHEN $6 <> 'retry' OR t.next > give_up_at THEN now() END FROM t WHERE id = $1";
	char code[12], ms[24], delay[24];
	snprintf(code, sizeof(code), "%d", status);
	snprintf(ms, sizeof(ms), "%llu", (unsigned long long)(monotime_ms() - a->started_ms));
	snprintf(delay, sizeof(delay), "%llu", (unsigned long long)delay_ms);
	const char *params[] = { a->id, a->n, status ? code : NULL, error, ms, outcome, delay };
	struct webhook_sender *ws = a->ws;
	if (ws && db_run(ws->d->db, sql, 7, params) < 0)
		daemon_db_lost(ws->d);
	log_info("webhook %s attempt %s to %s: %s%s%s", a->msg_id, a->n, a->url, outcome, error ? ": " : "",
		 error ? error : "");
	attempt_free(a);
}

static void on_answer(const struct http_client_response *r, void *arg)
{
	struct attempt *a = arg;
	char why[160];
	a->call = NULL;
	if (r->outcome == HTTP_CLIENT_DONE && r->status >= 200 && r->status < 300) {
		finish(a, r->status, NULL, "delivered", 0);
		return;
	}
	if (r->outcome == HTTP_CLIENT_DONE && r->status == 410) {
		finish(a, r->status, "the endpoint answered 410 Gone", "gone", 0);
		return;
	}
	uint64_t delay = webhook_send_backoff_ms(a->ws->base_ms, atol(a->n));
	int64_t after = retry_after_ms(http_client_header(r, "retry-after"), time(NULL));
	if (after > 0 && (uint64_t)after > delay)
		delay = (uint64_t)after < BACKOFF_CAP_MS ? (uint64_t)after : BACKOFF_CAP_MS;
	if (r->outcome == HTTP_CLIENT_DONE)
		snprintf(why, sizeof(why), "the endpoint answered %d", r->status);
	else
		snprintf(why, sizeof(why), "%.150s", r->error);
	finish(a, r->status, why, "retry", delay);
}

/* libcurl's RESOLVE line that pins the URL's host:port to the checked
 * address; "" when the URL does not parse (it did when it was resolved) or
 * names an address itself. */
static void pin(const char *url, const char *ip, char *out, size_t len)
{
	struct webhook_target t;
	char why[8];
	out[0] = '\0';
	if (webhook_addr_parse(url, &t, why, sizeof(why)) < 0 || strchr(t.host, ':'))
		return;
	bool v6 = strchr(ip, ':') != NULL;
	snprintf(out, len, "%s:%d:%s%s%s", t.host, t.port, v6 ? "[" : "", ip, v6 ? "]" : "");
}

static void post(struct attempt *a, const char *ip)
{
	struct webhook_sender *ws = a->ws;
	char id_h[160], ts_h[48], sig_h[32 + WEBHOOK_SIG_LEN], sig[WEBHOOK_SIG_LEN], to[400];
	long long ts = (long long)time(NULL);
	size_t len = strlen(a->payload);
	webhook_sign(ws->key, ws->keylen, a->msg_id, ts, a->payload, len, sig);
	snprintf(id_h, sizeof(id_h), "webhook-id: %.120s", a->msg_id);
	snprintf(ts_h, sizeof(ts_h), "webhook-timestamp: %lld", ts);
	snprintf(sig_h, sizeof(sig_h), "webhook-signature: %s", sig);
	pin(a->url, ip, to, sizeof(to));
	const char *headers[] = { "Content-Type: application/json", "User-Agent: reelforge-webhooks/1", id_h, ts_h,
				  sig_h };
	const struct http_client_request rq = { "POST", a->url,         headers,   ARRAY_SIZE(headers), a->payload,
						len,    ws->timeout_ms, 64 * 1024, to[0] ? to : NULL,   "webhook",
						NULL };
	a->call = http_client_start(ws->http, &rq, on_answer, a);
}

static void on_resolved(void *arg, enum webhook_addr_result res, const char *ip, const char *why)
{
	struct attempt *a = arg;
	if (!a->ws) {
		attempt_free(a); /* the sender stopped meanwhile: the row is retried after its lease */
		return;
	}
	if (res != WEBHOOK_ADDR_OK) {
		finish(a, 0, why, "retry", webhook_send_backoff_ms(a->ws->base_ms, atol(a->n)));
		return;
	}
	post(a, ip);
}

/* The stored payload names the job by its path; with REEL_PUBLIC_BASE_URL the
 * receiver gets the address it can reach instead. The same for every attempt,
 * so a retry's body stays the first one's. */
static char *payload_for(const struct webhook_sender *ws, const char *stored)
{
	cJSON *root = ws->public_base ? cJSON_Parse(stored) : NULL;
	cJSON *url = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "data"), "url");
	char *out = NULL;
	if (cJSON_IsString(url) && url->valuestring[0] == '/') {
		size_t n = strlen(ws->public_base);
		while (n > 0 && ws->public_base[n - 1] == '/')
			n--;
		char *abs = xasprintf("%.*s%s", (int)n, ws->public_base, url->valuestring);
		cJSON_SetValuestring(url, abs);
		free(abs);
		out = cJSON_PrintUnformatted(root);
	}
	cJSON_Delete(root);
	return out ? out : xstrdup(stored);
}

static void start_attempt(struct webhook_sender *ws, PGresult *r, int i)
{
	struct attempt *a = xcalloc(1, sizeof(*a));
	a->ws = ws;
	str_copy(a->id, PQgetvalue(r, i, 0), sizeof(a->id));
	a->msg_id = xstrdup(PQgetvalue(r, i, 1));
	a->url = xstrdup(PQgetvalue(r, i, 2));
	a->payload = payload_for(ws, PQgetvalue(r, i, 3));
	str_copy(a->n, PQgetvalue(r, i, 4), sizeof(a->n));
	a->started_ms = monotime_ms();
	a->next = ws->attempts;
	if (a->next)
		a->next->prev = a;
	ws->attempts = a;
	ws->n_attempts++;
	webhook_addr_resolve(ws->d->loop, a->url, ws->allow_private, on_resolved, a);
}

static void claim(struct webhook_sender *ws)
{
	static const char sql[] =
		"UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + interval '5 minutes' "
		"FROM (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now() "
		"ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due "
		"WHERE d.id = due.id RETURNING d.id, d.msg_id, d.url, d.payload, d.attempts";
	char room[12];
	const char *params[] = { room };
	if (ws->n_attempts >= MAX_IN_FLIGHT || !db_ok(ws->d->db))
		return;
	snprintf(room, sizeof(room), "%zu", MAX_IN_FLIGHT - ws->n_attempts);
	PGresult *r = db_exec(ws->d->db, sql, 1, params);
	if (!r) {
		daemon_db_lost(ws->d);
		return;
	}
	for (int i = 0; i < PQntuples(r); i++)
		start_attempt(ws, r, i);
	PQclear(r);
}

static void on_tick(uv_timer_t *t)
{
	claim(t->data);
}

void webhook_send_wake(struct webhook_sender *ws)
{
	if (ws)
		claim(ws);
}

struct webhook_sender *webhook_send_new(struct daemon *d, const struct webhook_sender_settings *s)
{
	struct webhook_sender *ws = xcalloc(1, sizeof(*ws));
	ws->d = d;
	ws->http = http_client_new(d->loop);
	ws->keylen = s->keylen < sizeof(ws->key) ? s->keylen : sizeof(ws->key);
	memcpy(ws->key, s->key, ws->keylen);
	ws->allow_private = s->allow_private;
	ws->public_base = s->public_base;
	ws->timeout_ms = s->timeout_ms;
	ws->base_ms = s->retry_base_ms;
	uv_timer_init(d->loop, &ws->tick);
	ws->tick.data = ws;
	uv_timer_start(&ws->tick, on_tick, 0, TICK_MS);
	return ws;
}

static void on_tick_closed(uv_handle_t *h)
{
	free(h->data);
}

void webhook_send_free(struct webhook_sender *ws)
{
	if (!ws)
		return;
	http_client_free(ws->http); /* cancels the POSTs in flight without callbacks */
	for (struct attempt *a = ws->attempts, *next; a; a = next) {
		next = a->next;
		a->prev = a->next = NULL;
		a->ws = NULL;
		if (a->call)
			attempt_free(a); /* its resolve is over; nothing refers to it any more */
	}
	uv_close((uv_handle_t *)&ws->tick, on_tick_closed);
}
