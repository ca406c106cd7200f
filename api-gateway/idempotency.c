/*
 * DESIGN: the key's row is inserted first in the request's transaction,
 * with ON CONFLICT, so a concurrent duplicate (in this gateway or another)
 * waits on the row's index entry until the first transaction ends: after a
 * commit it finds the stored answer and replays it, after a rollback it
 * goes ahead itself. Failed requests roll back and leave no key behind,
 * so they can be sent again. A key older than 24 hours is reused.
 */
#include "idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db.h"
#include "http_server.h"
#include "log.h"
#include "outbox.h"
#include "banned.h"

/* The fingerprint of what was asked: method, path and body bytes. */
static void request_hash(const struct http_request *rq, char hex[65])
{
	size_t head = strlen(rq->method) + strlen(rq->path) + 2;
	char *buf = xmalloc(head + rq->body_len + 1);
	snprintf(buf, head + 1, "%s %s\n", rq->method, rq->path);
	memcpy(buf + head, rq->body, rq->body_len);
	auth_sha256_hex(buf, head + rq->body_len, hex);
	free(buf);
}

static int key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > IDEMPOTENCY_KEY_MAX)
		return 0;
	for (; *k; k++)
		if ((unsigned char)*k < 0x20 || (unsigned char)*k > 0x7e)
			return 0;
	return 1;
}

/* 1 when this request owns the key now, 0 when the key is taken, -1 on error. */
static int claim(struct db *db, const char *owner, const char *key, const char *hash)
{
	static const char sql[] =
		"INSERT INTO idempotency_keys AS k (owner, key, request_hash) VALUES ($1, $2, $3) "
		"ON CONFLICT (owner, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = NULL, "
		"response = NULL, location = NULL, job_id = NULL, created_at = now() "
		"WHERE k.created_at < now() - interval '24 hours' RETURNING 1";
	const char *params[] = { owner, key, hash };
	PGresult *r = db_exec(db, sql, 3, params);
	if (!r)
		return -1;
	int n = PQntuples(r);
	PQclear(r);
	return n;
}

static void replay(struct http_exchange *x, struct db *db, const char *owner, const char *key, const char *hash)
{
	static const char sql[] = "SELECT request_hash, status, response, location FROM idempotency_keys "
				  "WHERE owner = $1 AND key = $2";
	const char *params[] = { owner, key };
	PGresult *r = db_exec(db, sql, 2, params);
	if (!r || PQntuples(r) != 1 || PQgetisnull(r, 0, 1)) {
		http_problem(x, 409, "idempotency-in-progress", "The first request with this key is not finished",
			     "try again shortly", "Idempotency-Key");
	} else if (strcmp(PQgetvalue(r, 0, 0), hash) != 0) {
		http_problem(x, 422, "idempotency-mismatch", "The key was used for another request",
			     "this Idempotency-Key was first sent with another method, path or body",
			     "Idempotency-Key");
	} else {
		const char *body = PQgetvalue(r, 0, 2);
		if (!PQgetisnull(r, 0, 3))
			http_add_header(x, "Location", PQgetvalue(r, 0, 3));
		http_add_header(x, "Idempotent-Replayed", "true");
		http_reply(x, atoi(PQgetvalue(r, 0, 1)), "application/json", body, strlen(body));
	}
	PQclear(r);
}

static int store(struct db *db, const char *owner, const char *key, const struct api_answer *a)
{
	static const char sql[] = "UPDATE idempotency_keys SET status = $3, response = $4, location = $5, "
				  "job_id = $6::uuid WHERE owner = $1 AND key = $2";
	char status[16];
	snprintf(status, sizeof(status), "%d", a->status);
	const char *params[] = { owner, key, status, a->body, a->location, a->job_id[0] ? a->job_id : NULL };
	return db_run(db, sql, 6, params);
}

/* Commits (or rolls back) what fn did and answers. */
static void finish(struct http_exchange *x, struct daemon *d, const char *owner, const char *key, struct api_answer *a)
{
	if (a->body && key && store(d->db, owner, key, a) < 0) {
		free(a->body);
		a->body = NULL;
		api_problem_unavailable(&a->problem);
	}
	if (!a->body) {
		daemon_rollback(d);
		api_problem_send(x, &a->problem);
	} else if (daemon_commit(d) < 0) {
		api_problem_unavailable(&a->problem);
		api_problem_send(x, &a->problem);
	} else {
		outbox_publish(d->outbox);
		if (a->location)
			http_add_header(x, "Location", a->location);
		http_reply(x, a->status, "application/json", a->body, strlen(a->body));
	}
	free(a->body);
	free(a->location);
}

void idempotency_run(struct http_exchange *x, struct daemon *d, const char *owner, idempotency_fn fn, void *arg)
{
	const struct http_request *rq = http_request_of(x);
	const char *key = http_header(rq, "idempotency-key");
	struct api_answer a;
	char hash[65];
	int mine = 1;

	memset(&a, 0, sizeof(a));
	if (key && !key_ok(key)) {
		http_problem(x, 400, "invalid-header", "The Idempotency-Key header is invalid",
			     "Idempotency-Key must be 1 to 255 printable ASCII characters", "Idempotency-Key");
		return;
	}
	if (db_begin(d->db) < 0) {
		daemon_db_lost(d);
		http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
		return;
	}
	if (key) {
		request_hash(rq, hash);
		mine = claim(d->db, owner, key, hash);
	}
	if (mine == 0) {
		replay(x, d->db, owner, key, hash);
		daemon_rollback(d);
		return;
	}
	if (mine < 0)
		api_problem_unavailable(&a.problem);
	else
		fn(d, owner, arg, &a);
	finish(x, d, owner, key, &a);
}
