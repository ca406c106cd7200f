/*
 * Thin calls of the ledger's SQL functions for the gateway's requests.
 */
#include "credits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing.h"
#include "cost_estimate.h"
#include "db.h"
#include "ledger.h"
#include "str.h"
#include "banned.h"

#define ISO_UTC(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Plans other than free: their credits come with their payments. */
static char *paid_plans(const struct billing *b)
{
	const char **names = xmalloc((b->n_plans ? b->n_plans : 1) * sizeof(*names));
	size_t n = 0;
	for (size_t i = 0; i < b->n_plans; i++)
		if (strcmp(b->plans[i].name, "free") != 0)
			names[n++] = b->plans[i].name;
	char *arr = db_text_array(names, n);
	free(names);
	return arr;
}

int credits_seen(struct daemon *d, const char *owner, struct credits_account *a)
{
	/* clang-format off */
	static const char sql[] =
		"SELECT a.plan, a.available, a.reserved, "
		"coalesce(" ISO_UTC("a.plan_renews_at") ", ''), coalesce(" ISO_UTC("a.plan_ends_at") ", '') "
		"FROM reel_account_seen($1, $2::text[], $3::bigint) a";
	/* clang-format on */
	const struct billing_plan *free_plan = cost_estimate_plan(d->billing, "free");
	char monthly[24];
	snprintf(monthly, sizeof(monthly), "%ld", free_plan->monthly_credits);
	char *paid = paid_plans(d->billing);
	const char *params[] = { owner, paid, monthly };
	PGresult *r = db_exec(d->db, sql, 3, params);
	free(paid);
	if (!r || PQntuples(r) != 1) {
		PQclear(r);
		return -1;
	}
	a->plan = cost_estimate_plan(d->billing, PQgetvalue(r, 0, 0));
	a->available = atol(PQgetvalue(r, 0, 1));
	a->reserved = atol(PQgetvalue(r, 0, 2));
	str_copy(a->renews_at, PQgetvalue(r, 0, 3), sizeof(a->renews_at));
	str_copy(a->ends_at, PQgetvalue(r, 0, 4), sizeof(a->ends_at));
	PQclear(r);
	return 0;
}

int credits_available(struct daemon *d, const char *owner, long *available)
{
	static const char sql[] = "SELECT coalesce((SELECT available FROM credit_accounts WHERE owner = $1), 0)";
	const char *params[] = { owner };
	PGresult *r = db_exec(d->db, sql, 1, params);
	int ok = r && PQntuples(r) == 1;
	if (ok)
		*available = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return ok ? 0 : -1;
}

int credits_reserve(struct daemon *d, const char *job, const char *owner, long amount, struct api_problem *p)
{
	bool ok = false;
	long available = 0;
	if (ledger_reserve(d->db, &job, &owner, &amount, 1, &ok) < 0)
		return api_problem_unavailable(p);
	if (ok)
		return 1;
	if (credits_available(d, owner, &available) < 0)
		return api_problem_unavailable(p);
	api_problem_credits(p, amount, available);
	return 0;
}

int credits_checkin(struct daemon *d, const char *owner)
{
	static const char sql[] = "SELECT reel_checkin($1, $2::bigint)";
	char credits[24];
	snprintf(credits, sizeof(credits), "%ld", d->billing->checkin_credits);
	const char *params[] = { owner, credits };
	PGresult *r = db_exec(d->db, sql, 2, params);
	int rc = r && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0)[0] == 't' : -1;
	PQclear(r);
	return rc;
}
