/*
 * The per-user cap on unfinished jobs (REEL_MAX_JOBS_IN_FLIGHT), checked
 * before a create: one bounded count in PostgreSQL plus the creates of this
 * process still waiting for their group's commit.
 */
#include "inflight.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "gateway.h"
#include "banned.h"

int inflight_check(struct http_exchange *x, struct gateway *g, const char *owner, long queued)
{
	static const char sql[] = "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE owner = $1 AND status NOT IN "
				  "('done', 'failed', 'canceled') LIMIT $2) AS active";
	char cap[24], detail[200];
	const char *params[] = { owner, cap };
	if (g->cfg.max_in_flight <= 0)
		return 0;
	snprintf(cap, sizeof(cap), "%ld", g->cfg.max_in_flight);
	PGresult *r = db_exec(g->d->db, sql, 2, params);
	if (!r) {
		daemon_db_lost(g->d);
		http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
		return -1;
	}
	long active = atol(PQgetvalue(r, 0, 0)) + queued;
	PQclear(r);
	if (active < g->cfg.max_in_flight)
		return 0;
	snprintf(detail, sizeof(detail),
		 "%ld of your jobs are unfinished; the cap is %ld jobs in flight per user (REEL_MAX_JOBS_IN_FLIGHT): "
		 "wait for one to end or cancel one",
		 active, g->cfg.max_in_flight);
	http_problem(x, 429, "too-many-jobs-in-flight", "Too many unfinished jobs", detail, NULL);
	return -1;
}
