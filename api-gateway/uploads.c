/*
 * The upload resource (uploads.h): creation, reads, deletion and the check
 * of a job's "upload:<id>". Every statement names the owner, so another
 * user's upload is simply not found.
 */
#include "uploads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "gateway.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "sign.h"
#include "storage.h"
#include "upload_ref.h"
#include "uuid.h"
#include "banned.h"

#define FILENAME_MAX_BYTES 255
#define TYPE_MAX_BYTES 127
#define LIST_MAX 100

const char *const uploads_purposes[UPLOAD_N_PURPOSES] = { "music", "image", "face", "voice", "video" };

static const char *const create_fields[] = { "filename", "content_type", "bytes", "purpose" };

enum { U_ID, U_STATUS, U_PURPOSE, U_FILENAME, U_TYPE, U_BYTES, U_WIDTH, U_HEIGHT, U_DURATION, U_CREATED };

cJSON *uploads__view(const PGresult *r, int i)
{
	static const int numbers[] = { U_BYTES, U_WIDTH, U_HEIGHT, U_DURATION };
	static const char *const number_names[] = { "bytes", "width", "height", "duration_ms" };
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", PQgetvalue(r, i, U_ID));
	cJSON_AddStringToObject(o, "status", PQgetvalue(r, i, U_STATUS));
	cJSON_AddStringToObject(o, "purpose", PQgetvalue(r, i, U_PURPOSE));
	cJSON_AddStringToObject(o, "filename", PQgetvalue(r, i, U_FILENAME));
	cJSON_AddStringToObject(o, "content_type", PQgetvalue(r, i, U_TYPE));
	for (size_t n = 0; n < ARRAY_SIZE(numbers); n++) {
		if (PQgetisnull(r, i, numbers[n]))
			cJSON_AddNullToObject(o, number_names[n]);
		else
			cJSON_AddNumberToObject(o, number_names[n], atof(PQgetvalue(r, i, numbers[n])));
	}
	cJSON_AddStringToObject(o, "created_at", PQgetvalue(r, i, U_CREATED));
	return o;
}

static void reply_json(struct http_exchange *x, int status, cJSON *body)
{
	char *text = json_print(body);
	http_reply(x, status, "application/json", text, strlen(text));
	free(text);
	cJSON_Delete(body);
}

void uploads__reply(struct http_exchange *x, const PGresult *r)
{
	reply_json(x, 200, uploads__view(r, 0));
}

void uploads__unavailable(struct http_exchange *x, struct daemon *d)
{
	daemon_db_lost(d);
	http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
}

char *uploads__sign_name(const char *id)
{
	return xasprintf("put:" UPLOAD_KEY_PREFIX "%s", id);
}

/* ---- deleting bytes off the loop ---- */

struct drop {
	uv_work_t work;
	struct daemon *d;
	char *key;
};

static void drop_work(uv_work_t *w)
{
	struct drop *dr = w->data;
	char err[256];
	if (storage_delete(dr->d->storage, dr->key, err, sizeof(err)) < 0)
		log_error("upload: deleting %s: %s", dr->key, err);
}

static void drop_done(uv_work_t *w, int status)
{
	struct drop *dr = w->data;
	(void)status;
	free(dr->key);
	free(dr);
}

void uploads__drop_object(struct daemon *d, const char *id)
{
	struct drop *dr = xcalloc(1, sizeof(*dr));
	dr->d = d;
	dr->key = upload_ref_key(id);
	dr->work.data = dr;
	uv_queue_work(d->loop, &dr->work, drop_work, drop_done);
}

/* ---- POST /v1/uploads ---- */

/* What a create asks for, checked. */
struct upload_ask {
	const char *filename, *content_type, *purpose;
	char bytes[24];
	long max_mb;
};

static int text_ok(const cJSON *v, size_t max)
{
	if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > max)
		return 0;
	for (const unsigned char *p = (const unsigned char *)v->valuestring; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int purpose_index(const char *s)
{
	for (int i = 0; i < UPLOAD_N_PURPOSES; i++)
		if (strcmp(s, uploads_purposes[i]) == 0)
			return i;
	return -1;
}

static int check_ask(const cJSON *j, const struct gateway *g, struct upload_ask *a, struct api_problem *p)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "filename");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "content_type");
	const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(j, "bytes");
	const cJSON *purpose = cJSON_GetObjectItemCaseSensitive(j, "purpose");
	if (api_problem_unknown_fields(j, "", create_fields, ARRAY_SIZE(create_fields), p) < 0)
		return -1;
	if (!text_ok(name, FILENAME_MAX_BYTES))
		return api_problem_invalid(p, "filename",
					   "filename must be a name of 1 to 255 bytes without control characters");
	if (!text_ok(type, TYPE_MAX_BYTES) || !strchr(type->valuestring, '/'))
		return api_problem_invalid(p, "content_type", "content_type must be a media type such as audio/mpeg");
	int pi = cJSON_IsString(purpose) ? purpose_index(purpose->valuestring) : -1;
	if (pi < 0)
		return api_problem_invalid(p, "purpose", "purpose must be one of music, image, face, voice, video");
	a->max_mb = g->cfg.upload_max_mb[pi];
	if (!cJSON_IsNumber(bytes) || bytes->valuedouble < 1)
		return api_problem_invalid(p, "bytes", "bytes must be the file's size, a whole number above 0");
	if (bytes->valuedouble > (double)a->max_mb * 1024 * 1024)
		return api_problem_set(p, 422, "invalid-field", "A field is invalid", "bytes",
				       "a %s upload may have at most %ld MiB", uploads_purposes[pi], a->max_mb);
	/* Only now, within the limit, is the value a safe cast away from being whole. */
	if (bytes->valuedouble != (double)(long long)bytes->valuedouble)
		return api_problem_invalid(p, "bytes", "bytes must be the file's size, a whole number above 0");
	a->filename = name->valuestring;
	a->content_type = type->valuestring;
	a->purpose = uploads_purposes[pi];
	snprintf(a->bytes, sizeof(a->bytes), "%lld", (long long)bytes->valuedouble);
	return 0;
}

/* The upload's target in the answer o: method, upload_url, headers, expires_at. */
static void add_target(cJSON *o, const struct gateway *g, const char *id, const char *content_type)
{
	long ttl = g->cfg.url_ttl_s < g->cfg.upload_pending_s ? g->cfg.url_ttl_s : g->cfg.upload_pending_s;
	time_t exp = time(NULL) + ttl;
	char *key = upload_ref_key(id), *url = storage_presign_put(g->d->storage, key, ttl, content_type);
	if (!url) {
		char exps[24], sig[SIGN_HEX_LEN + 1], *name = uploads__sign_name(id);
		snprintf(exps, sizeof(exps), "%lld", (long long)exp);
		sign_compute(g->cfg.url_secret, name, exps, sig);
		url = xasprintf("/v1/uploads/%s?exp=%s&sig=%s", id, exps, sig);
		free(name);
	}
	char at[32];
	struct tm tm;
	gmtime_r(&exp, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(o, "method", "PUT");
	cJSON_AddStringToObject(o, "upload_url", url);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "headers"), "Content-Type", content_type);
	cJSON_AddStringToObject(o, "expires_at", at);
	free(url);
	free(key);
}

void uploads_create(struct http_exchange *x, void *arg)
{
	static const char sql[] = "INSERT INTO uploads (owner, filename, declared_type, purpose, bytes) "
				  "VALUES ($1, $2, $3, $4, $5::bigint) RETURNING " UPLOAD_COLUMNS;
	struct daemon *d = arg;
	struct gateway *g = d->app;
	struct http_request *rq = http_request_of(x);
	char owner[GATEWAY_OWNER_MAX];
	struct upload_ask a;
	struct api_problem p;
	if (identity_authenticate(x, g, owner, sizeof(owner)) < 0)
		return;
	memset(&p, 0, sizeof(p));
	cJSON *j = json_parse(rq->body, rq->body_len);
	if (!cJSON_IsObject(j))
		api_problem_set(&p, 400, "invalid-json", "The body is not a JSON object", "",
				"the request body must be a JSON object");
	else
		check_ask(j, g, &a, &p);
	if (p.status) {
		api_problem_send(x, &p);
		cJSON_Delete(j);
		return;
	}
	const char *params[] = { owner, a.filename, a.content_type, a.purpose, a.bytes };
	PGresult *r = db_exec(d->db, sql, 5, params);
	if (!r) {
		cJSON_Delete(j);
		uploads__unavailable(x, d);
		return;
	}
	cJSON *o = uploads__view(r, 0);
	add_target(o, g, PQgetvalue(r, 0, U_ID), a.content_type);
	PQclear(r);
	cJSON_Delete(j);
	reply_json(x, 201, o);
}

/* ---- reads and deletion ---- */

/* The owner, after authenticating, when the path's id can name an upload; else answers. */
static int lookup_ok(struct http_exchange *x, struct gateway *g, char *owner, size_t len)
{
	if (identity_authenticate(x, g, owner, len) < 0)
		return 0;
	if (!uuid_valid(http_request_of(x)->params[0])) {
		http_problem(x, 404, "not-found", "No such upload", "upload ids are UUIDs", "id");
		return 0;
	}
	return 1;
}

void uploads_get(struct http_exchange *x, void *arg)
{
	static const char sql[] = "SELECT " UPLOAD_COLUMNS " FROM uploads WHERE id = $1 AND owner = $2";
	struct daemon *d = arg;
	char owner[GATEWAY_OWNER_MAX];
	if (!lookup_ok(x, d->app, owner, sizeof(owner)))
		return;
	const char *params[] = { http_request_of(x)->params[0], owner };
	PGresult *r = db_exec(d->db, sql, 2, params);
	if (!r)
		uploads__unavailable(x, d);
	else if (PQntuples(r) == 0)
		http_problem(x, 404, "not-found", "No such upload", "no upload of yours has this id", "id");
	else
		uploads__reply(x, r);
	PQclear(r);
}

void uploads_delete(struct http_exchange *x, void *arg)
{
	static const char sql[] = "DELETE FROM uploads WHERE id = $1 AND owner = $2 RETURNING id";
	struct daemon *d = arg;
	char owner[GATEWAY_OWNER_MAX];
	if (!lookup_ok(x, d->app, owner, sizeof(owner)))
		return;
	const char *params[] = { http_request_of(x)->params[0], owner };
	PGresult *r = db_exec(d->db, sql, 2, params);
	if (!r) {
		uploads__unavailable(x, d);
		return;
	}
	if (PQntuples(r) == 0) {
		http_problem(x, 404, "not-found", "No such upload", "no upload of yours has this id", "id");
	} else {
		uploads__drop_object(d, PQgetvalue(r, 0, 0));
		http_reply(x, 204, NULL, "", 0);
	}
	PQclear(r);
}

void uploads_list(struct http_exchange *x, void *arg)
{
	static const char sql[] = "SELECT " UPLOAD_COLUMNS " FROM uploads WHERE owner = $1 "
				  "ORDER BY created_at DESC, id DESC LIMIT $2::int";
	struct daemon *d = arg;
	char owner[GATEWAY_OWNER_MAX], buf[8], *end;
	if (identity_authenticate(x, d->app, owner, sizeof(owner)) < 0)
		return;
	const char *limit = http_query(http_request_of(x), "limit", buf, sizeof(buf));
	long n = limit ? strtol(limit, &end, 10) : 50;
	if (limit && (!*limit || *end || n < 1 || n > LIST_MAX)) {
		http_problem(x, 422, "invalid-field", "A field is invalid", "limit is a whole number from 1 to 100",
			     "limit");
		return;
	}
	snprintf(buf, sizeof(buf), "%ld", n);
	const char *params[] = { owner, buf };
	PGresult *r = db_exec(d->db, sql, 2, params);
	if (!r) {
		uploads__unavailable(x, d);
		return;
	}
	cJSON *body = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(body, "items");
	for (int i = 0; i < PQntuples(r); i++)
		cJSON_AddItemToArray(items, uploads__view(r, i));
	PQclear(r);
	reply_json(x, 200, body);
}

/* ---- jobs naming an upload ---- */

int uploads_check_music(struct daemon *d, const char *owner, const cJSON *options, struct api_problem *p)
{
	static const char sql[] = "SELECT status, kind FROM uploads WHERE id = $1 AND owner = $2";
	const char *music = json_str(options, "music"), *id = music ? upload_ref_id(music) : NULL;
	if (!id)
		return 0;
	if (!uuid_valid(id))
		return api_problem_invalid(p, "options.music", "upload:<id> must name an upload id (a UUID)");
	const char *params[] = { id, owner };
	PGresult *r = db_exec(d->db, sql, 2, params);
	if (!r) {
		daemon_db_lost(d);
		return api_problem_unavailable(p);
	}
	int rc = 0;
	if (PQntuples(r) == 0)
		rc = api_problem_invalid(p, "options.music", "options.music names no upload of yours");
	else if (strcmp(PQgetvalue(r, 0, 0), "ready") != 0)
		rc = api_problem_invalid(p, "options.music",
					 "the upload in options.music is not ready: complete it first");
	else if (strcmp(PQgetvalue(r, 0, 1), "audio") != 0)
		rc = api_problem_set(p, 422, "invalid-field", "A field is invalid", "options.music",
				     "the upload in options.music is %s, not audio", PQgetvalue(r, 0, 1));
	PQclear(r);
	return rc;
}
