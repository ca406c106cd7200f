/*
 * Uploads: media users bring (music, face photos, voice samples, reference
 * images, clips). POST /v1/uploads makes a pending row and hands out where to
 * put the bytes (a presigned PUT on S3, the gateway's own signed PUT on file
 * storage); .../complete checks them (upload_complete.c); jobs name a ready
 * upload as "upload:<id>". Another user's upload is 404 everywhere.
 */
#ifndef REEL_UPLOADS_H
#define REEL_UPLOADS_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "api_problem.h"
#include "http_server.h"
#include "upload_sniff.h"
#include "util.h"

struct daemon;
struct gateway;

#define UPLOAD_N_PURPOSES 5
/* The purposes, in the order of gateway_config.upload_max_mb. */
extern const char *const uploads_purposes[UPLOAD_N_PURPOSES];

/* POST /v1/uploads {filename, content_type, bytes, purpose}: 201 with where to put the bytes. */
void uploads_create(struct http_exchange *x, void *arg);
/* GET /v1/uploads?limit=: the caller's uploads, newest first. */
void uploads_list(struct http_exchange *x, void *arg);
/* GET /v1/uploads/{id}. */
void uploads_get(struct http_exchange *x, void *arg);
/* DELETE /v1/uploads/{id}: 204; the bytes go too. */
void uploads_delete(struct http_exchange *x, void *arg);
/* PUT /v1/uploads/{id}?exp=&sig= on file storage: the bytes, streamed to disk (upload_put.c). */
void upload_put_handle(struct http_exchange *x, void *arg);
/* The HTTP server's body_file hook: a signed PUT of a pending upload goes to a
 * storage temporary, at most its declared size (upload_put.c). */
char *upload_put_body_file(const struct http_request *rq, size_t *limit, void *arg);
/* POST /v1/uploads/{id}/complete (upload_complete.c). */
void upload_complete_post(struct http_exchange *x, void *arg);

/* When options.music names an upload, checks that it is owner's, ready and
 * audio: 0, or -1 with a 422 naming options.music (503 when the database fails). */
int uploads_check_music(struct daemon *d, const char *owner, const cJSON *options, struct api_problem *p) WARN_UNUSED;

/* Starts and stops deleting uploads left pending longer than REEL_UPLOAD_PENDING_S (upload_sweep.c). */
void upload_sweep_start(struct gateway *g);
void upload_sweep_stop(struct gateway *g);

/* Shared by the upload modules. */
/* The columns uploads__view reads, for SELECT and RETURNING lists. */
#define UPLOAD_COLUMNS \
	"id, status, purpose, filename, coalesce(content_type, declared_type), bytes, width, height, " \
	"duration_ms, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* Row i of a result with UPLOAD_COLUMNS as the API shows it. */
cJSON *uploads__view(const PGresult *r, int i);
/* Answers 200 with row 0 of r. */
void uploads__reply(struct http_exchange *x, const PGresult *r);
/* The 503 of a lost database. */
void uploads__unavailable(struct http_exchange *x, struct daemon *d);
/* Deletes the bytes of upload id on the thread pool, logging a failure. */
void uploads__drop_object(struct daemon *d, const char *id);
/* The PUT URL's signed name of upload id ("put:uploads/<id>"), so a download link never passes for it. */
char *uploads__sign_name(const char *id);

#endif
