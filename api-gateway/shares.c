/*
 * The owner's side of share links. A token is SHARE_TOKEN_BYTES from the
 * kernel's generator, shown once in the 201; only its SHA-256 is stored, so
 * listings name a link by the first digits of that hash instead.
 */
#include "shares.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_body.h"
#include "auth.h"
#include "db.h"
#include "events_api.h"
#include "gateway.h"
#include "identity.h"
#include "sse.h"
#include "str.h"
#include "banned.h"

#define STATUS_LEN 32 /* a job status and its NUL */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

bool shares_token_ok(const char *token)
{
	size_t n = strspn(token, "0123456789abcdef");
	return n == SHARE_TOKEN_LEN && token[n] == '\0';
}

void shares_token_hash(const char *token, char hex[65])
{
	auth_sha256_hex(token, strlen(token), hex);
}

char *shares_public_url(const struct gateway *g, const char *path)
{
	const char *base = g->cfg.public_base_url, *addr = g->d->cfg.http_addr;
	if (base) {
		size_t n = strlen(base);
		while (n > 0 && base[n - 1] == '/')
			n--;
		return xasprintf("%.*s%s", (int)n, base, path);
	}
	/* ":8080" listens on loopback; a wildcard address is reached at loopback from this host too */
	if (addr[0] == ':')
		return xasprintf("http://127.0.0.1%s%s", addr, path);
	if (!strncmp(addr, "0.0.0.0:", 8))
		return xasprintf("http://127.0.0.1%s%s", addr + 7, path);
	return xasprintf("http://%s%s", addr, path);
}

static void unavailable(struct http_exchange *x, struct daemon *d)
{
	daemon_db_lost(d);
	http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
}

static void reply_json(struct http_exchange *x, int status, cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);
	http_add_header(x, "Cache-Control", "no-store");
	http_reply(x, status, "application/json", text, strlen(text));
	free(text);
	cJSON_Delete(o);
}

/* The caller's job id of the path when it exists: 0 with owner, id and status, or -1 after answering. */
static int owned_job(struct http_exchange *x, struct daemon *d, char *owner, char *id, char *status)
{
	if (identity_authenticate(x, d->app, owner, GATEWAY_OWNER_MAX) < 0 || events_api_job_id(x, id) < 0)
		return -1;
	return events_api_owned_job(x, d, id, owner, status, STATUS_LEN);
}

/* Inserts the link: one row holding its expiry, or none when the job's media expired meanwhile. */
static PGresult *insert_share(struct db *db, const char *hash, const char *id, const char *owner, long ttl)
{
	static const char sql[] = "INSERT INTO shares (token_hash, job_id, owner, expires_at) "
				  "SELECT $1, id, owner, now() + make_interval(secs => $4::bigint) FROM jobs "
				  "WHERE id = $2 AND owner = $3 AND status = 'done' AND expired_at IS NULL "
				  "RETURNING " TS("expires_at");
	char secs[24];
	snprintf(secs, sizeof(secs), "%ld", ttl);
	const char *params[] = { hash, id, owner, secs };
	return db_exec(db, sql, 4, params);
}

void shares_create(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	struct http_request *rq = http_request_of(x);
	char owner[GATEWAY_OWNER_MAX], id[SSE_JOB_ID_LEN + 1], status[STATUS_LEN], token[SHARE_TOKEN_LEN + 1], hash[65];
	struct api_problem p;
	long ttl;

	if (owned_job(x, d, owner, id, status) < 0)
		return;
	if (action_body_expiry(rq->body, rq->body_len, SHARE_TTL_MAX, &ttl, &p) < 0) {
		api_problem_send(x, &p);
		return;
	}
	if (strcmp(status, "done") != 0) {
		http_problem(x, 409, "job-not-done", "The job is not done",
			     "only a done job's video can be shared; wait for its done event", "id");
		return;
	}
	str_random_hex(token, SHARE_TOKEN_BYTES);
	shares_token_hash(token, hash);
	PGresult *r = insert_share(d->db, hash, id, owner, ttl);
	if (!r) {
		unavailable(x, d);
		return;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		http_problem(x, 409, "media-expired", "The job's media have expired",
			     "the retention period deleted the video; it can no longer be shared", "id");
		return;
	}
	char path[8 + SHARE_TOKEN_LEN];
	snprintf(path, sizeof(path), "/s/%s", token);
	char *url = shares_public_url(d->app, path);
	cJSON *o = cJSON_CreateObject();
	char share_id[SHARE_ID_LEN + 1];
	str_copy(share_id, hash, sizeof(share_id));
	cJSON_AddStringToObject(o, "id", share_id);
	cJSON_AddStringToObject(o, "token", token);
	cJSON_AddStringToObject(o, "url", url);
	cJSON_AddStringToObject(o, "expires_at", PQgetvalue(r, 0, 0));
	PQclear(r);
	free(url);
	reply_json(x, 201, o);
}

static cJSON *share_item(PGresult *r, int i)
{
	static const char *const names[] = { "id", "status", "created_at", "expires_at", "revoked_at" };
	cJSON *o = cJSON_CreateObject();
	for (int c = 0; c < (int)ARRAY_SIZE(names); c++)
		if (PQgetisnull(r, i, c))
			cJSON_AddNullToObject(o, names[c]);
		else
			cJSON_AddStringToObject(o, names[c], PQgetvalue(r, i, c));
	cJSON_AddNumberToObject(o, "views", strtod(PQgetvalue(r, i, 5), NULL));
	return o;
}

void shares_list(struct http_exchange *x, void *arg)
{
	static const char sql[] =
		"SELECT left(s.token_hash, 16), CASE WHEN s.revoked_at IS NOT NULL THEN 'revoked' "
		"WHEN s.expires_at <= now() OR j.expired_at IS NOT NULL THEN 'expired' ELSE 'active' END, " TS(
			"s.created_at") ", " TS("s.expires_at") ", " TS("s.revoked_at") ", s.views "
											"FROM shares s JOIN jobs j ON j.id = s.job_id WHERE s.job_id = $1 AND s.owner = $2 "
											"ORDER BY s.created_at, s.token_hash";
	struct daemon *d = arg;
	char owner[GATEWAY_OWNER_MAX], id[SSE_JOB_ID_LEN + 1], status[STATUS_LEN];

	if (owned_job(x, d, owner, id, status) < 0)
		return;
	const char *params[] = { id, owner };
	PGresult *r = db_exec(d->db, sql, 2, params);
	if (!r) {
		unavailable(x, d);
		return;
	}
	cJSON *o = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(o, "data");
	for (int i = 0; i < PQntuples(r); i++)
		cJSON_AddItemToArray(data, share_item(r, i));
	PQclear(r);
	reply_json(x, 200, o);
}

void shares_revoke(struct http_exchange *x, void *arg)
{
	static const char sql[] = "UPDATE shares SET revoked_at = coalesce(revoked_at, now()) "
				  "WHERE job_id = $1 AND owner = $2 AND (token_hash = $3 OR left(token_hash, 16) = $4)";
	struct daemon *d = arg;
	const char *which = http_request_of(x)->params[1];
	char owner[GATEWAY_OWNER_MAX], id[SSE_JOB_ID_LEN + 1], status[STATUS_LEN], hash[65];

	if (owned_job(x, d, owner, id, status) < 0)
		return;
	shares_token_hash(which, hash);
	bool is_id = strlen(which) == SHARE_ID_LEN && strspn(which, "0123456789abcdef") == SHARE_ID_LEN;
	const char *params[] = { id, owner, hash, is_id ? which : "" };
	PGresult *r = db_exec(d->db, sql, 4, params);
	if (!r) {
		unavailable(x, d);
		return;
	}
	long n = db_affected(r);
	PQclear(r);
	if (n == 0)
		http_problem(x, 404, "not-found", "No such share link",
			     "this job has no share link with this token or id", "token");
	else
		http_reply(x, 204, NULL, "", 0);
}
