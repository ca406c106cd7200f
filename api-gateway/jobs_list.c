/*
 * GET /v1/jobs: the caller's jobs, newest first, with a status filter and
 * keyset pagination. The cursor is the last item's (created_at, id), so a
 * page never repeats or skips a job however many are created meanwhile.
 */
#include "jobs_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "gateway.h"
#include "http_server.h"
#include "identity.h"
#include "job_view.h"
#include "json.h"
#include "banned.h"

#define LIST_DEFAULT 20
#define LIST_MAX 100

static const char *const statuses[] = { "queued",  "parsing", "review", "producing", "paused",
					"merging", "done",    "failed", "canceled" };

static int known_status(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		if (strcmp(s, statuses[i]) == 0)
			return 1;
	return 0;
}

/* The cursor is the hex of "created_at|id", opaque to clients. */
static char *encode_cursor(const char *created_at, const char *id)
{
	char *plain = xasprintf("%s|%s", created_at, id), *hex = xmalloc(2 * strlen(plain) + 1);
	for (size_t i = 0; plain[i]; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)plain[i]);
	hex[2 * strlen(plain)] = '\0';
	free(plain);
	return hex;
}

/* Splits a cursor into its time and id (both written into buf); -1 when malformed. */
static int decode_cursor(const char *hex, char *buf, size_t buflen, const char **at, const char **id)
{
	size_t n = strlen(hex);
	char *bar;
	if (n == 0 || n % 2 || n / 2 >= buflen)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v < 0x20 || v > 0x7e)
			return -1;
		buf[i] = (char)v;
	}
	buf[n / 2] = '\0';
	if (!(bar = strchr(buf, '|')) || strlen(bar + 1) != 36)
		return -1;
	*bar = '\0';
	*at = buf;
	*id = bar + 1;
	return 0;
}

static PGresult *query_page(struct daemon *d, const char *owner, const char *status, const char *at, const char *id,
			    long limit)
{
	static const char sql[] =
		"SELECT id, status, template, "
		"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
		"to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
		"shots_total, shots_ready, error::text, "
		"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), c.reserved, c.captured "
		"FROM jobs LEFT JOIN job_costs c ON c.job_id = jobs.id "
		"WHERE jobs.owner = $1 AND ($2::text IS NULL OR status = $2) "
		"AND ($3::text IS NULL OR (created_at, id) < (($3::text || '+00')::timestamptz, $4::uuid)) "
		"ORDER BY created_at DESC, id DESC LIMIT $5";
	char lim[16];
	snprintf(lim, sizeof(lim), "%ld", limit);
	const char *params[] = { owner, status, at, id, lim };
	return db_exec(d->db, sql, 5, params);
}

static cJSON *summary(PGresult *r, int row)
{
	cJSON *o = cJSON_CreateObject(), *p, *e;
	int total = atoi(PQgetvalue(r, row, 5)), ready = atoi(PQgetvalue(r, row, 6));
	cJSON_AddStringToObject(o, "id", PQgetvalue(r, row, 0));
	cJSON_AddStringToObject(o, "status", PQgetvalue(r, row, 1));
	cJSON_AddStringToObject(o, "template", PQgetvalue(r, row, 2));
	cJSON_AddStringToObject(o, "created_at", PQgetvalue(r, row, 3));
	cJSON_AddStringToObject(o, "updated_at", PQgetvalue(r, row, 4));
	p = cJSON_AddObjectToObject(o, "progress");
	cJSON_AddNumberToObject(p, "shots_total", total);
	cJSON_AddNumberToObject(p, "shots_ready", ready);
	cJSON_AddNumberToObject(p, "percent", job_view_percent(PQgetvalue(r, row, 1), total, ready));
	e = PQgetisnull(r, row, 7) ? NULL : cJSON_Parse(PQgetvalue(r, row, 7));
	cJSON_AddItemToObject(o, "error", e ? e : cJSON_CreateNull());
	if (!PQgetisnull(r, row, 9))
		job_view_add_cost(o, atol(PQgetvalue(r, row, 9)), atol(PQgetvalue(r, row, 10)));
	return o;
}

static char *render_page(PGresult *r, long limit)
{
	cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
	int n = PQntuples(r);
	for (int i = 0; i < n && i < limit; i++)
		cJSON_AddItemToArray(items, summary(r, i));
	if (n > limit) {
		char *c = encode_cursor(PQgetvalue(r, (int)limit - 1, 8), PQgetvalue(r, (int)limit - 1, 0));
		cJSON_AddStringToObject(o, "next_cursor", c);
		free(c);
	} else {
		cJSON_AddNullToObject(o, "next_cursor");
	}
	char *text = json_print(o);
	cJSON_Delete(o);
	return text;
}

void jobs_list_get(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	struct http_request *rq = http_request_of(x);
	char status[32], limit_text[16], cursor[256], plain[128], owner[GATEWAY_OWNER_MAX];
	const char *st = http_query(rq, "status", status, sizeof(status)), *at = NULL, *id = NULL;
	const char *lim = http_query(rq, "limit", limit_text, sizeof(limit_text));
	const char *cur = http_query(rq, "cursor", cursor, sizeof(cursor));
	long limit = LIST_DEFAULT;
	char *end;

	if (identity_authenticate(x, d->app, owner, sizeof(owner)) < 0)
		return;
	if (st && !known_status(st))
		return http_problem(x, 422, "invalid-field", "A field is invalid",
				    "status must be one of queued, parsing, review, producing, paused, merging, done, "
				    "failed, canceled",
				    "status");
	if (lim && ((limit = strtol(lim, &end, 10)) < 1 || limit > LIST_MAX || *end))
		return http_problem(x, 422, "invalid-field", "A field is invalid",
				    "limit must be a whole number from 1 to 100", "limit");
	if (cur && decode_cursor(cur, plain, sizeof(plain), &at, &id) < 0)
		return http_problem(x, 422, "invalid-field", "A field is invalid",
				    "cursor is not one this API gave out", "cursor");
	PGresult *r = query_page(d, owner, st, at, id, limit + 1);
	if (!r)
		return http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
	char *body = render_page(r, limit);
	PQclear(r);
	http_reply(x, 200, "application/json", body, strlen(body));
	free(body);
}
