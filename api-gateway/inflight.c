/*
 * The per-user cap on unfinished jobs (REEL_MAX_JOBS_IN_FLIGHT, or the
 * owner's plan's max_jobs_in_flight when billing is on and it is lower), checked
 * before a create: one bounded count in PostgreSQL plus the creates of this
 * process still waiting for their group's commit.
 */
#include "inflight.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "billing.h"
#include "db.h"
#include "gateway.h"
#include "banned.h"

/* Answers the refusal of a create at cap with active jobs unfinished. */
static void refuse(struct http_exchange *x, long active, long cap, bool by_plan, const char *plan)
{
	char detail[256];
	if (by_plan) {
		snprintf(detail, sizeof(detail),
			 "%ld of your jobs are unfinished; the %s plan allows %ld jobs in flight (limit "
			 "max_jobs_in_flight): wait for one to end or cancel one",
			 active, plan, cap);
		http_problem(x, 403, "plan-limit", "The plan does not allow this", detail, "max_jobs_in_flight");
		return;
	}
	snprintf(detail, sizeof(detail),
		 "%ld of your jobs are unfinished; the cap is %ld jobs in flight per user (REEL_MAX_JOBS_IN_FLIGHT): "
		 "wait for one to end or cancel one",
		 active, cap);
	http_problem(x, 429, "too-many-jobs-in-flight", "Too many unfinished jobs", detail, NULL);
}

int inflight_check(struct http_exchange *x, struct gateway *g, const char *owner, long queued,
		   const struct billing_plan *plan)
{
	static const char sql[] = "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE owner = $1 AND status NOT IN "
				  "('done', 'failed', 'canceled') LIMIT $2) AS active";
	char text[24];
	const char *params[] = { owner, text };
	long cap = g->cfg.max_in_flight;
	bool by_plan = plan && plan->max_jobs_in_flight > 0 && (cap <= 0 || plan->max_jobs_in_flight < cap);
	if (by_plan)
		cap = plan->max_jobs_in_flight;
	if (cap <= 0)
		return 0;
	snprintf(text, sizeof(text), "%ld", cap);
	PGresult *r = db_exec(g->d->db, sql, 2, params);
	if (!r) {
		daemon_db_lost(g->d);
		http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
		return -1;
	}
	long active = atol(PQgetvalue(r, 0, 0)) + queued;
	PQclear(r);
	if (active < cap)
		return 0;
	refuse(x, active, cap, by_plan, by_plan ? plan->name : NULL);
	return -1;
}
