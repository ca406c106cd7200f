/*
 * POST /v1/uploads/{id}/complete: checks what the client put before the
 * upload may be used. On the libuv thread pool (a download from S3 and
 * FFmpeg's probe must not hold the loop): the stored size must be the
 * declared one, the bytes must sniff as media of the purpose's kind
 * (upload_sniff.c); a refusal deletes the object there and then. Back on
 * the loop the row becomes ready with what the sniffing found.
 */
#include "uploads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db.h"
#include "gateway.h"
#include "identity.h"
#include "log.h"
#include "storage.h"
#include "upload_ref.h"
#include "uuid.h"
#include "banned.h"

struct completion {
	uv_work_t work;
	struct daemon *d;
	struct http_exchange *x; /* valid until answered, even if the client left */
	char id[40], owner[GATEWAY_OWNER_MAX];
	char purpose[16];
	long long bytes;           /* declared */
	struct upload_media media; /* what the bytes are, when ok */
	struct api_problem p;      /* the refusal, when status is set */
};

/* The kind each purpose takes. */
static enum upload_kind kind_for(const char *purpose)
{
	if (!strcmp(purpose, "music") || !strcmp(purpose, "voice"))
		return UPLOAD_AUDIO;
	return !strcmp(purpose, "video") ? UPLOAD_VIDEO : UPLOAD_IMAGE;
}

/* The stored size of key: 0, 1 when nothing is stored, -1 with err. */
static int stored_size(const struct storage *st, const char *key, long long *size, char *err, size_t errlen)
{
	off_t n = 0;
	int rc = 0;
	if (storage_is_local(st)) {
		char *path = storage_path(st, key);
		struct stat sb;
		rc = stat(path, &sb) == 0 ? 0 : 1;
		n = sb.st_size;
		free(path);
	} else {
		rc = storage_size(st, key, &n, err, errlen);
	}
	*size = rc == 0 ? (long long)n : 0;
	return rc;
}

/* Sniffs the stored bytes into c->media, or fills c->p. */
static void sniff(struct completion *c, const char *key)
{
	char err[256], why[256];
	char *path = storage_fetch(c->d->storage, key, err, sizeof(err));
	if (!path) {
		api_problem_set(&c->p, 503, "unavailable", "The upload cannot be read", "", "try again shortly");
		log_error("upload %s: %s", c->id, err);
		return;
	}
	enum upload_kind want = kind_for(c->purpose);
	if (upload_sniff(path, &c->media, why, sizeof(why)) < 0)
		api_problem_set(&c->p, 422, "invalid-field", "The upload is not media uploads take", "content_type",
				"%s", why);
	else if (c->media.kind != want)
		api_problem_set(&c->p, 422, "invalid-field", "The upload does not fit its purpose", "content_type",
				"the bytes are %s (%s), but %s takes %s", upload_sniff_kind_name(c->media.kind),
				c->media.content_type, c->purpose, upload_sniff_kind_name(want));
	storage_drop(c->d->storage, path);
}

static void check_work(uv_work_t *w)
{
	struct completion *c = w->data;
	char err[256];
	long long have;
	char *key = upload_ref_key(c->id);
	int found = stored_size(c->d->storage, key, &have, err, sizeof(err));
	if (found < 0) {
		log_error("upload %s: %s", c->id, err);
		api_problem_set(&c->p, 503, "unavailable", "The upload cannot be read", "", "try again shortly");
	} else if (found) {
		api_problem_set(&c->p, 409, "conflict", "Nothing was uploaded", "",
				"put the bytes at upload_url first");
	} else if (have != c->bytes) {
		api_problem_set(&c->p, 422, "invalid-field", "The size is not the declared one", "bytes",
				"%lld bytes were uploaded but the upload declared %lld", have, c->bytes);
	} else {
		sniff(c, key);
	}
	if (c->p.status == 422 && storage_delete(c->d->storage, key, err, sizeof(err)) < 0)
		log_error("upload %s: deleting refused bytes: %s", c->id, err);
	free(key);
}

/* Marks the upload ready; answers with it, or 404 when it was deleted meanwhile. */
static void make_ready(struct completion *c)
{
	static const char sql[] =
		"UPDATE uploads SET status = 'ready', content_type = $3, kind = $4, "
		"width = nullif($5::int, 0), height = nullif($6::int, 0), duration_ms = nullif($7::bigint, 0), "
		"completed_at = now() WHERE id = $1 AND owner = $2 AND status = 'pending' RETURNING " UPLOAD_COLUMNS;
	char w[16], h[16], ms[24];
	snprintf(w, sizeof(w), "%d", c->media.width);
	snprintf(h, sizeof(h), "%d", c->media.height);
	snprintf(ms, sizeof(ms), "%ld", c->media.duration_ms);
	const char *params[] = {
		c->id, c->owner, c->media.content_type, upload_sniff_kind_name(c->media.kind), w, h, ms
	};
	PGresult *r = db_exec(c->d->db, sql, 7, params);
	if (!r)
		uploads__unavailable(c->x, c->d);
	else if (PQntuples(r) == 0)
		http_problem(c->x, 404, "not-found", "No such upload", "the upload was deleted meanwhile", "id");
	else
		uploads__reply(c->x, r);
	PQclear(r);
}

static void check_done(uv_work_t *w, int status)
{
	struct completion *c = w->data;
	(void)status;
	if (c->p.status)
		api_problem_send(c->x, &c->p);
	else
		make_ready(c);
	free(c);
}

void upload_complete_post(struct http_exchange *x, void *arg)
{
	static const char sql[] = "SELECT " UPLOAD_COLUMNS " FROM uploads WHERE id = $1 AND owner = $2";
	struct daemon *d = arg;
	const char *id = http_request_of(x)->params[0];
	char owner[GATEWAY_OWNER_MAX];
	if (identity_authenticate(x, d->app, owner, sizeof(owner)) < 0)
		return;
	if (!uuid_valid(id)) {
		http_problem(x, 404, "not-found", "No such upload", "upload ids are UUIDs", "id");
		return;
	}
	const char *params[] = { id, owner };
	PGresult *r = db_exec(d->db, sql, 2, params);
	if (!r) {
		uploads__unavailable(x, d);
		return;
	}
	if (PQntuples(r) == 0 || strcmp(PQgetvalue(r, 0, 1), "ready") == 0) {
		if (PQntuples(r) == 0)
			http_problem(x, 404, "not-found", "No such upload", "no upload of yours has this id", "id");
		else
			uploads__reply(x, r); /* completing twice answers the same */
		PQclear(r);
		return;
	}
	struct completion *c = xcalloc(1, sizeof(*c));
	c->d = d;
	c->x = x;
	snprintf(c->id, sizeof(c->id), "%s", PQgetvalue(r, 0, 0));
	snprintf(c->owner, sizeof(c->owner), "%s", owner);
	snprintf(c->purpose, sizeof(c->purpose), "%s", PQgetvalue(r, 0, 2));
	c->bytes = atoll(PQgetvalue(r, 0, 5));
	PQclear(r);
	c->work.data = c;
	uv_queue_work(d->loop, &c->work, check_work, check_done);
}
