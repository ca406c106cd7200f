/*
 * GET /v1/me, GET /v1/me/ledger and POST /v1/me/checkin. Seeing the
 * account grants the free plan's monthly credits when they are due
 * (credits_seen). The ledger pages by row id: rows are append-only, so a
 * page never repeats or skips one however many are added meanwhile.
 */
#include "me_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing.h"
#include "credits.h"
#include "db.h"
#include "gateway.h"
#include "http_server.h"
#include "identity.h"
#include "json.h"
#include "banned.h"

#define LEDGER_DEFAULT 20
#define LEDGER_MAX 100

static void reply_json(struct http_exchange *x, int status, cJSON *o)
{
	char *text = json_print(o);
	http_reply(x, status, "application/json", text, strlen(text));
	free(text);
	cJSON_Delete(o);
}

static void unavailable(struct http_exchange *x, struct daemon *d)
{
	daemon_db_lost(d);
	http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
}

static void add_time_or_null(cJSON *o, const char *name, const char *iso)
{
	if (iso[0])
		cJSON_AddStringToObject(o, name, iso);
	else
		cJSON_AddNullToObject(o, name);
}

static void add_limits(cJSON *o, const struct billing_plan *pl)
{
	cJSON *l = cJSON_AddObjectToObject(o, "limits");
	cJSON_AddStringToObject(l, "max_resolution", pl->max_height >= 1080 ? "1080p" : "720p");
	cJSON_AddNumberToObject(l, "max_shots", (double)pl->max_shots);
	cJSON_AddNumberToObject(l, "max_jobs_in_flight", (double)pl->max_jobs_in_flight);
	cJSON_AddNumberToObject(l, "retention_days", (double)pl->retention_days);
	cJSON_AddBoolToObject(l, "i2v", pl->i2v);
	cJSON_AddNumberToObject(l, "monthly_credits", (double)pl->monthly_credits);
}

void me_api_get(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	char owner[GATEWAY_OWNER_MAX];
	struct credits_account a;
	if (identity_authenticate(x, d->app, owner, sizeof(owner)) < 0)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "owner", owner);
	cJSON_AddBoolToObject(o, "billing", d->billing != NULL);
	if (d->billing && credits_seen(d, owner, &a) < 0) {
		cJSON_Delete(o);
		unavailable(x, d);
		return;
	}
	if (d->billing) {
		cJSON *plan = cJSON_AddObjectToObject(o, "plan"), *credits = cJSON_AddObjectToObject(o, "credits");
		cJSON_AddStringToObject(plan, "name", a.plan->name);
		add_time_or_null(plan, "renews_at", a.renews_at);
		add_time_or_null(plan, "ends_at", a.ends_at);
		cJSON_AddNumberToObject(credits, "available", (double)a.available);
		cJSON_AddNumberToObject(credits, "reserved", (double)a.reserved);
		add_limits(o, a.plan);
	}
	reply_json(x, 200, o);
}

/* Columns of a ledger row: id, kind, amount, held, then the nullable rest. */
static const char *const ledger_text[] = { "job_id", "stage", "provider", "payment", "reason" };

static cJSON *ledger_row(PGresult *r, int row)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", atof(PQgetvalue(r, row, 0)));
	cJSON_AddStringToObject(o, "kind", PQgetvalue(r, row, 1));
	cJSON_AddNumberToObject(o, "amount", atof(PQgetvalue(r, row, 2)));
	cJSON_AddNumberToObject(o, "held", atof(PQgetvalue(r, row, 3)));
	for (size_t i = 0; i < ARRAY_SIZE(ledger_text); i++) {
		if (PQgetisnull(r, row, 4 + (int)i))
			cJSON_AddNullToObject(o, ledger_text[i]);
		else
			cJSON_AddStringToObject(o, ledger_text[i], PQgetvalue(r, row, 4 + (int)i));
	}
	if (PQgetisnull(r, row, 9))
		cJSON_AddNullToObject(o, "shot");
	else
		cJSON_AddNumberToObject(o, "shot", atoi(PQgetvalue(r, row, 9)));
	cJSON_AddStringToObject(o, "at", PQgetvalue(r, row, 10));
	return o;
}

static cJSON *ledger_page(PGresult *r, long limit)
{
	cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
	int n = PQntuples(r);
	for (int i = 0; i < n && i < limit; i++)
		cJSON_AddItemToArray(items, ledger_row(r, i));
	if (n > limit)
		cJSON_AddStringToObject(o, "next_cursor", PQgetvalue(r, (int)limit - 1, 0));
	else
		cJSON_AddNullToObject(o, "next_cursor");
	return o;
}

/* A cursor is the last row's id as this API gave it out: digits only. */
static int cursor_ok(const char *c)
{
	size_t n = strlen(c);
	if (n == 0 || n > 18)
		return 0;
	return strspn(c, "0123456789") == n;
}

void me_api_ledger(struct http_exchange *x, void *arg)
{
	static const char sql[] =
		"SELECT id, kind, amount, held, job_id, stage, provider, payment, reason, shot, "
		"to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM credit_ledger "
		"WHERE owner = $1 AND ($2::bigint IS NULL OR id < $2::bigint) ORDER BY id DESC LIMIT $3";
	struct daemon *d = arg;
	struct http_request *rq = http_request_of(x);
	char owner[GATEWAY_OWNER_MAX], limit_text[16], cursor[32], lim[16], *end;
	const char *l = http_query(rq, "limit", limit_text, sizeof(limit_text));
	const char *cur = http_query(rq, "cursor", cursor, sizeof(cursor));
	long limit = LEDGER_DEFAULT;
	if (identity_authenticate(x, d->app, owner, sizeof(owner)) < 0)
		return;
	if (l && ((limit = strtol(l, &end, 10)) < 1 || limit > LEDGER_MAX || *end))
		return http_problem(x, 422, "invalid-field", "A field is invalid",
				    "limit must be a whole number from 1 to 100", "limit");
	if (cur && !cursor_ok(cur))
		return http_problem(x, 422, "invalid-field", "A field is invalid",
				    "cursor is not one this API gave out", "cursor");
	snprintf(lim, sizeof(lim), "%ld", limit + 1);
	const char *params[] = { owner, cur, lim };
	PGresult *r = db_exec(d->db, sql, 3, params);
	if (!r)
		return unavailable(x, d);
	cJSON *page = ledger_page(r, limit);
	PQclear(r);
	reply_json(x, 200, page);
}

void me_api_checkin(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	char owner[GATEWAY_OWNER_MAX];
	struct credits_account a;
	if (identity_authenticate(x, d->app, owner, sizeof(owner)) < 0)
		return;
	if (!d->billing)
		return http_problem(x, 404, "billing-off", "Billing is off",
				    "this deployment does not charge credits, so there is nothing to check in for",
				    NULL);
	int rc = credits_checkin(d, owner);
	if (rc == 0)
		return http_problem(x, 409, "already-checked-in", "Already checked in today",
				    "the daily check-in's credits are granted once per UTC day; come back tomorrow",
				    NULL);
	if (rc < 0 || credits_seen(d, owner, &a) < 0)
		return unavailable(x, d);
	cJSON *o = cJSON_CreateObject(), *credits;
	cJSON_AddNumberToObject(o, "granted", (double)d->billing->checkin_credits);
	credits = cJSON_AddObjectToObject(o, "credits");
	cJSON_AddNumberToObject(credits, "available", (double)a.available);
	cJSON_AddNumberToObject(credits, "reserved", (double)a.reserved);
	reply_json(x, 200, o);
}
