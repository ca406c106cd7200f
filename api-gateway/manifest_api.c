/*
 * GET /v1/jobs/{id}/manifest: the output manifest merge-worker stored
 * (every asset with key, type, bytes, duration_ms where it has one, sha256),
 * answered with a signed download url added to each asset.
 */
#include "manifest_api.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "file.h"
#include "files_api.h"
#include "gateway.h"
#include "http_server.h"
#include "identity.h"
#include "jobs_api.h"
#include "json.h"
#include "storage.h"
#include "str.h"
#include "uuid.h"
#include "banned.h"

#define MANIFEST_MAX (1u << 20)

/* The job's status and manifest key (NULL when none) for owner: 1, 0 when no such job, -1 on error. */
static int load_key(struct daemon *d, const char *id, const char *owner, char **key, char *status, size_t len)
{
	static const char sql[] =
		"SELECT CASE WHEN expired_at IS NULL THEN status ELSE 'expired' END, "
		"CASE WHEN expired_at IS NULL THEN output->>'manifest_key' END FROM jobs WHERE id = $1 AND owner = $2";
	const char *params[] = { id, owner };
	PGresult *r = db_exec(d->db, sql, 2, params);
	if (!r)
		return -1;
	int found = PQntuples(r) == 1;
	*key = NULL;
	if (found) {
		str_copy(status, PQgetvalue(r, 0, 0), len);
		if (!PQgetisnull(r, 0, 1))
			*key = xstrdup(PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return found;
}

/* The manifest at key with a url per asset, as text; NULL when unreadable. */
static char *signed_manifest(const struct gateway *g, const char *key)
{
	char why[256];
	char *path = storage_key_ok(key) ? storage_fetch(g->d->storage, key, why, sizeof(why)) : NULL;
	size_t len = 0;
	char *text = path ? file_read_all(path, MANIFEST_MAX, &len) : NULL, *out = NULL;
	cJSON *m = text ? json_parse(text, len) : NULL, *assets = cJSON_GetObjectItemCaseSensitive(m, "assets");
	if (cJSON_IsArray(assets)) {
		cJSON *a;
		cJSON_ArrayForEach (a, assets) {
			const char *k = json_str(a, "key");
			char *url = k && storage_key_ok(k) ? files_api_file_url(g, k) : NULL;
			if (url)
				cJSON_AddStringToObject(a, "url", url);
			free(url);
		}
		out = json_print(m);
	}
	cJSON_Delete(m);
	free(text);
	storage_drop(g->d->storage, path);
	return out;
}

void manifest_api_get(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	const char *id = http_request_of(x)->params[0];
	char owner[GATEWAY_OWNER_MAX], status[16], *key = NULL, *body;
	int found;
	if (identity_authenticate(x, d->app, owner, sizeof(owner)) < 0)
		return;
	if (!uuid_valid(id) || (found = load_key(d, id, owner, &key, status, sizeof(status))) == 0) {
		http_problem(x, 404, "not-found", "No such job", "there is no job with this id", "id");
		return;
	}
	if (found < 0) {
		http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
		return;
	}
	if (!key) {
		/* "expired": retention deleted the media, the manifest with them */
		char *detail = xasprintf("the job is %s and has no manifest%s", status,
					 strcmp(status, "expired") ? " yet" : "");
		http_problem(x, 404, "no-manifest", "The job has no manifest yet", detail, NULL);
		free(detail);
		return;
	}
	if (!(body = signed_manifest(d->app, key))) {
		http_problem(x, 500, "manifest-unreadable", "The manifest cannot be read",
			     "the stored manifest is missing "
			     "or damaged",
			     NULL);
	} else {
		http_reply(x, 200, "application/json", body, strlen(body));
	}
	free(body);
	free(key);
}
