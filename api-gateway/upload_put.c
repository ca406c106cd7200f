/*
 * The gateway's own upload target on file storage: PUT /v1/uploads/{id}
 * with the exp and sig the create answer signed, so a browser needs no
 * credentials (as with a presigned S3 PUT). The body never sits in memory:
 * the server's body_file hook streams it into a storage temporary, capped at
 * the declared size, and a rename puts it in place.
 */
#include "uploads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "gateway.h"
#include "log.h"
#include "sign.h"
#include "storage.h"
#include "upload_ref.h"
#include "banned.h"

#define PUT_PREFIX "/v1/uploads/"

/* 0 when the query's exp and sig sign this upload's PUT and have not expired; else -1 with why. */
static int signed_ok(const struct gateway *g, const struct http_request *rq, char *why, size_t whylen)
{
	char exp[24], sig[SIGN_HEX_LEN + 2], *name = uploads__sign_name(rq->params[0]);
	int rc = sign_check(g->cfg.url_secret, name, http_query(rq, "exp", exp, sizeof(exp)),
			    http_query(rq, "sig", sig, sizeof(sig)), time(NULL), why, whylen);
	free(name);
	return rc;
}

/* The declared size and status of upload id: 0, 1 when there is none, -1 when the database fails. */
static int find(struct daemon *d, const char *id, long long *bytes, char *status, size_t statuslen)
{
	static const char sql[] = "SELECT bytes, status FROM uploads WHERE id = $1";
	const char *params[] = { id };
	PGresult *r = db_exec(d->db, sql, 1, params);
	if (!r)
		return -1;
	int rc = PQntuples(r) ? 0 : 1;
	if (rc == 0) {
		*bytes = atoll(PQgetvalue(r, 0, 0));
		snprintf(status, statuslen, "%s", PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return rc;
}

char *upload_put_body_file(const struct http_request *rq, size_t *limit, void *arg)
{
	struct daemon *d = arg;
	char why[128], status[16];
	long long bytes;
	if (strcmp(rq->method, "PUT") != 0 || strncmp(rq->path, PUT_PREFIX, strlen(PUT_PREFIX)) != 0 ||
	    rq->n_params != 1 || !storage_is_local(d->storage) || signed_ok(d->app, rq, why, sizeof(why)) < 0 ||
	    find(d, rq->params[0], &bytes, status, sizeof(status)) != 0 || strcmp(status, "pending") != 0)
		return NULL; /* the handler answers why, from a body kept in memory */
	*limit = (size_t)bytes;
	return storage_temp(d->storage, ".upload");
}

/* Refuses the PUT unless it may go ahead: storage, signature, a pending upload and its bytes. */
static int put_ok(struct http_exchange *x, struct daemon *d, long long *bytes)
{
	struct http_request *rq = http_request_of(x);
	char why[128], status[16];
	int found;
	if (!storage_is_local(d->storage)) {
		http_problem(x, 404, "not-found", "No such upload target",
			     "on S3 storage uploads go to the presigned upload_url", NULL);
	} else if (signed_ok(d->app, rq, why, sizeof(why)) < 0) {
		http_problem(x, 403, "forbidden", "The upload URL is not valid", why, NULL);
	} else if ((found = find(d, rq->params[0], bytes, status, sizeof(status))) < 0) {
		uploads__unavailable(x, d);
	} else if (found) {
		http_problem(x, 404, "not-found", "No such upload", "the upload was deleted", "id");
	} else if (strcmp(status, "pending") != 0) {
		http_problem(x, 409, "conflict", "The upload is complete", "a completed upload's bytes cannot change",
			     NULL);
	} else if (!rq->body_file) {
		http_problem(x, 503, "unavailable", "The upload could not be stored", "try again shortly", NULL);
	} else if ((long long)rq->body_len != *bytes) {
		char detail[128];
		snprintf(detail, sizeof(detail), "the body has %zu bytes but the upload declared %lld", rq->body_len,
			 *bytes);
		http_problem(x, 422, "invalid-field", "The size is not the declared one", detail, "bytes");
	} else {
		return 1;
	}
	return 0;
}

void upload_put_handle(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	struct http_request *rq = http_request_of(x);
	long long bytes;
	char err[256];
	if (!put_ok(x, d, &bytes))
		return;
	char *key = upload_ref_key(rq->params[0]);
	if (storage_put(d->storage, key, rq->body_file, err, sizeof(err)) < 0) {
		log_error("upload %s: %s", rq->params[0], err);
		http_problem(x, 503, "unavailable", "The upload could not be stored", "try again shortly", NULL);
	} else {
		char *body = xasprintf("{\"id\":\"%s\",\"status\":\"pending\",\"bytes\":%lld}", rq->params[0], bytes);
		http_reply(x, 200, "application/json", body, strlen(body));
		free(body);
	}
	free(key);
}
