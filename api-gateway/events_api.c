/*
 * GET /v1/jobs/{id}/events: a job's job_events rows as Server-Sent Events.
 * The owner check is the one of GET /v1/jobs/{id}; the rows after the
 * client's Last-Event-ID are read from the table, then the stream follows
 * the job through the gateway's LISTEN connection until a final state.
 * Browsers, whose EventSource sends no Authorization header, bring a stream
 * token (POST /v1/jobs/{id}/events/tokens) as ?token= instead.
 */
#include "events_api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "action_body.h"
#include "db.h"
#include "gateway.h"
#include "http_server.h"
#include "identity.h"
#include "jobs_api.h"
#include "live.h"
#include "live_api.h"
#include "rate_check.h"
#include "sse.h"
#include "str.h"
#include "stream_token.h"
#include "uuid.h"
#include "banned.h"

/* The resume point: Last-Event-ID header, else ?last_event_id=, else 0.
 * -1 after answering 400 when it is not a sequence number. */
static int resume_point(struct http_exchange *x, int64_t *seq)
{
	struct http_request *rq = http_request_of(x);
	const char *v = http_header(rq, "last-event-id"), *field = "Last-Event-ID";
	char buf[32], *end;
	if (!v) {
		v = http_query(rq, "last_event_id", buf, sizeof(buf));
		field = "last_event_id";
	}
	*seq = 0;
	if (!v || !*v)
		return 0;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (*end || errno || n < 0 || v[0] < '0' || v[0] > '9') {
		http_problem(x, 400, "invalid-field", "The resume point is not an event id",
			     "Last-Event-ID is the id: of an event received earlier, a whole number", field);
		return -1;
	}
	*seq = n;
	return 0;
}

int events_api_job_status(struct daemon *d, const char *id, const char *owner, char *status, size_t len)
{
	static const char sql[] = "SELECT status FROM jobs WHERE id = $1 AND owner = $2";
	const char *params[] = { id, owner };
	PGresult *r = db_exec(d->db, sql, 2, params);
	if (!r)
		return -1;
	int found = PQntuples(r) == 1;
	if (found)
		str_copy(status, PQgetvalue(r, 0, 0), len);
	PQclear(r);
	return found ? 0 : 1;
}

static bool is_final_status(const char *status)
{
	return !strcmp(status, "done") || !strcmp(status, "failed") || !strcmp(status, "canceled");
}

/* Sends the rows after seq, up to upto; 1 when the stream ended (final event
 * or peer gone), 0 to go on following, -1 on a database error (stream still open). */
static int catch_up(struct daemon *d, struct sse_stream *s, const char *id, int64_t seq, int64_t upto)
{
	struct gateway *g = d->app;
	static const char sql[] = "SELECT seq, coalesce(shot, -1), kind, detail::text, "
				  "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
				  "FROM job_events WHERE job_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq";
	char after[24], last[24];
	const char *params[] = { id, after, last };
	int rc = 0;
	snprintf(after, sizeof(after), "%lld", (long long)seq);
	snprintf(last, sizeof(last), "%lld", (long long)upto);
	PGresult *r = db_exec(d->db, sql, 3, params);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		const struct sse_event ev = { strtoll(PQgetvalue(r, i, 0), NULL, 10),
					      id,
					      atoi(PQgetvalue(r, i, 1)),
					      PQgetvalue(r, i, 2),
					      PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3),
					      PQgetvalue(r, i, 4) };
		rc = sse_send(s, &ev) != 0;
		if (rc == 0 && live_awaits(g->live, ev.seq))
			sse_sent_early(s, ev.seq);
	}
	PQclear(r);
	return rc;
}

static void lower_id(const char *in, char *out)
{
	for (int i = 0; i <= SSE_JOB_ID_LEN; i++)
		out[i] = (char)(in[i] >= 'A' && in[i] <= 'F' ? in[i] - 'A' + 'a' : in[i]);
}

int events_api_job_id(struct http_exchange *x, char *id)
{
	const char *raw = http_request_of(x)->params[0];
	if (!uuid_valid(raw)) {
		http_problem(x, 404, "not-found", "No such job", "job ids are UUIDs", "id");
		return -1;
	}
	lower_id(raw, id);
	return 0;
}

/* Who may read job id's stream: the bearer of ?token= when there is one,
 * else whoever authenticates. 0 with owner filled, or -1 after answering. */
static int stream_reader(struct http_exchange *x, struct gateway *g, const char *id, char *owner, size_t ownerlen)
{
	char token[512], why[128];
	if (!http_query(http_request_of(x), "token", token, sizeof(token)))
		return identity_authenticate(x, g, owner, ownerlen);
	if (stream_token_check(g->cfg.url_secret, token, id, time(NULL), owner, ownerlen, why, sizeof(why)) < 0) {
		http_problem(x, 401, "invalid-stream-token", "The stream token is not valid", why, "token");
		return -1;
	}
	return rate_check(x, g, owner);
}

int events_api_owned_job(struct http_exchange *x, struct daemon *d, const char *id, const char *owner, char *status,
			 size_t len)
{
	int found = events_api_job_status(d, id, owner, status, len);
	if (found > 0)
		http_problem(x, 404, "not-found", "No such job", "there is no job with this id", "id");
	else if (found < 0) {
		daemon_db_lost(d);
		http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
	}
	return found ? -1 : 0;
}

/* Whether a final job's stream resumed at from has nothing left to send: the
 * answer is then 204, which tells an EventSource to stop reconnecting. */
static bool caught_up(struct daemon *d, const char *id, int64_t from)
{
	static const char sql[] = "SELECT 1 FROM job_events WHERE job_id = $1 AND seq > $2 LIMIT 1";
	char after[24];
	const char *params[] = { id, after };
	snprintf(after, sizeof(after), "%lld", (long long)from);
	PGresult *r = db_exec(d->db, sql, 2, params);
	bool none = r && PQntuples(r) == 0;
	PQclear(r);
	return none;
}

void events_api_job_events(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	struct gateway *g = d->app;
	char owner[GATEWAY_OWNER_MAX], status[32], id[SSE_JOB_ID_LEN + 1];
	int64_t from;

	if (events_api_job_id(x, id) < 0 || stream_reader(x, g, id, owner, sizeof(owner)) < 0 ||
	    resume_point(x, &from) < 0 || events_api_owned_job(x, d, id, owner, status, sizeof(status)) < 0)
		return;
	if (from > 0 && is_final_status(status) && caught_up(d, id, from)) {
		http_reply(x, 204, NULL, "", 0);
		return;
	}
	if (!strcmp(http_request_of(x)->method, "HEAD")) {
		/* the head of a stream, without a stream to hold open */
		http_reply(x, 200, "text/event-stream", "", 0);
		return;
	}
	live_prepare(g->live, d->db);
	struct sse_stream *s = sse_open(g->sse, x, from);
	/* A followed job's rows above the horizon come through the hub, in order;
	 * a final job's stream has only its catch-up, so that reads them all. */
	bool final = is_final_status(status);
	int rc = catch_up(d, s, id, from, final ? INT64_MAX : live_horizon(g->live));
	if (rc == 1)
		return;
	/* A job already final ends after its catch-up; a failed read ends the
	 * stream too, and the client resumes from the last id it got. */
	if (rc < 0 || final)
		sse_end(s);
	else
		sse_follow(s, id);
}

void events_api_create_stream_token(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	struct gateway *g = d->app;
	struct http_request *rq = http_request_of(x);
	char owner[GATEWAY_OWNER_MAX], status[32], id[SSE_JOB_ID_LEN + 1], at[32];
	struct api_problem p;
	long ttl;

	if (identity_authenticate(x, g, owner, sizeof(owner)) < 0 || events_api_job_id(x, id) < 0)
		return;
	if (action_body_expiry(rq->body, rq->body_len, STREAM_TOKEN_TTL_MAX, &ttl, &p) < 0) {
		api_problem_send(x, &p);
		return;
	}
	if (events_api_owned_job(x, d, id, owner, status, sizeof(status)) < 0)
		return;
	time_t exp = time(NULL) + ttl;
	struct tm tm;
	gmtime_r(&exp, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	char *token = stream_token_make(g->cfg.url_secret, id, owner, exp);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", token);
	cJSON_AddStringToObject(o, "expires_at", at);
	char *text = cJSON_PrintUnformatted(o);
	http_add_header(x, "Cache-Control", "no-store");
	http_reply(x, 201, "application/json", text, strlen(text));
	free(text);
	cJSON_Delete(o);
	free(token);
}
