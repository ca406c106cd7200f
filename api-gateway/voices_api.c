/*
 * GET /v1/voices?provider=&language=&gender=: the voices users can put in
 * options.voice, from the voices table. A language filter matches the tag
 * itself and its regional forms ("en" finds en-US and en-GB). Voices a
 * tts-worker found it cannot load (voices.available) are not listed.
 */
#include "voices_api.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "gateway.h"
#include "http_server.h"
#include "identity.h"
#include "json.h"
#include "banned.h"

#define FILTER_MAX 64

static cJSON *voice_item(PGresult *r, int i)
{
	static const char *const cols[] = { "provider", "id", "name", "language", "gender", "description" };
	cJSON *o = cJSON_CreateObject();
	for (int c = 0; c < (int)ARRAY_SIZE(cols); c++) {
		if (PQgetisnull(r, i, c))
			cJSON_AddNullToObject(o, cols[c]);
		else
			cJSON_AddStringToObject(o, cols[c], PQgetvalue(r, i, c));
	}
	return o;
}

/* A filter from the query into buf, NULL when absent or empty; -1 after
 * answering 422 when it is badly escaped or too long. */
static int filter(struct http_exchange *x, const char *name, char *buf, size_t len, const char **out)
{
	struct http_request *rq = http_request_of(x);
	const char *v = http_query(rq, name, buf, len);
	*out = v && *v ? v : NULL;
	if (v || !strstr(rq->query, name))
		return 0;
	http_problem(x, 422, "invalid-field", "A filter is invalid", "filters are short, well-escaped texts", name);
	return -1;
}

void voices_api_list(struct http_exchange *x, void *arg)
{
	static const char sql[] =
		"SELECT provider, id, name, language, gender, description FROM voices "
		"WHERE available AND ($1::text IS NULL OR provider = $1) AND ($3::text IS NULL OR gender = $3) "
		"AND ($2::text IS NULL OR lower(language) = lower($2) OR lower(language) LIKE lower($2) || '-%') "
		"ORDER BY provider, language, id";
	struct daemon *d = arg;
	char owner[GATEWAY_OWNER_MAX], pb[FILTER_MAX], lb[FILTER_MAX], gb[FILTER_MAX];
	const char *params[3];
	if (identity_authenticate(x, d->app, owner, sizeof(owner)) < 0 ||
	    filter(x, "provider", pb, sizeof(pb), &params[0]) < 0 ||
	    filter(x, "language", lb, sizeof(lb), &params[1]) < 0 ||
	    filter(x, "gender", gb, sizeof(gb), &params[2]) < 0)
		return;
	if (params[2] && strcmp(params[2], "male") && strcmp(params[2], "female") && strcmp(params[2], "neutral")) {
		http_problem(x, 422, "invalid-field", "A filter is invalid", "gender is male, female or neutral",
			     "gender");
		return;
	}
	PGresult *r = db_exec(d->db, sql, 3, params);
	if (!r) {
		daemon_db_lost(d);
		http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
		return;
	}
	cJSON *body = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(body, "items");
	for (int i = 0; i < PQntuples(r); i++)
		cJSON_AddItemToArray(items, voice_item(r, i));
	PQclear(r);
	char *text = json_print(body);
	http_reply(x, 200, "application/json", text, strlen(text));
	free(text);
	cJSON_Delete(body);
}
