/*
 * A capture may overrun: the vendor was paid, so the result is charged even
 * when the reservation and the available credits do not cover it (the
 * account goes below zero). The job then pauses with insufficient-credits;
 * the gateway's retry continues it once the owner topped up.
 */
#include "charge.h"

#include <stdint.h>
#include <stdlib.h>

#include "billing.h"
#include "db.h"
#include "events.h"
#include "jobs.h"
#include "banned.h"

const char charge_message[] = "this job needs more credits than its owner has left: "
			      "top up the credits, then retry the job to continue it";

void charge_set(struct ledger_charge *c, const struct billing *b, const char *job, const char *stage,
		const char *provider, int shot, long units)
{
	*c = (struct ledger_charge){ .job = job,
				     .stage = stage,
				     .provider = provider,
				     .shot = shot,
				     .credits = units * billing_price(b, stage, provider) };
}

bool charge_short(const struct billing *b, PGresult *r, int row, long price)
{
	int col = PQnfields(r) - 1;
	return b && price > 0 && !PQgetisnull(r, row, col) && strtol(PQgetvalue(r, row, col), NULL, 10) < price;
}

/* Producing jobs of the batch whose owner's available credits went below
 * zero are paused, with their event. The account is locked by now: a job
 * row another transaction holds (it may be waiting for that account) is
 * skipped rather than waited for; the job's next claim finds nothing left
 * to spend and pauses it then. */
static int pause_short(struct db *db, struct events *ev, const struct ledger_charge *c, size_t n)
{
	static const char sql[] =
		"UPDATE jobs SET status = 'paused', error = $2::jsonb, updated_at = now() "
		"WHERE id IN (SELECT j.id FROM jobs j WHERE j.id = ANY($1::uuid[]) AND j.status = 'producing' AND EXISTS "
		"(SELECT 1 FROM credit_accounts a WHERE a.owner = j.owner AND a.available < 0) FOR UPDATE SKIP LOCKED) "
		"RETURNING id";
	const char **jobs = xmalloc(n * sizeof(*jobs));
	for (size_t i = 0; i < n; i++)
		jobs[i] = c[i].job;
	char *ids = db_text_array(jobs, n), *error = jobs_error_json(c[0].stage, CHARGE_CODE, charge_message, true);
	PGresult *r = db_exec(db, sql, 2, (const char *const[]){ ids, error });
	for (int row = 0; r && row < PQntuples(r); row++)
		events_add(ev, PQgetvalue(r, row, 0), -1, "paused", error);
	int rc = r ? 0 : -1;
	PQclear(r);
	free(ids);
	free(error);
	free(jobs);
	return rc;
}

int charge_kept(struct db *db, struct events *ev, const struct ledger_charge *c, size_t n)
{
	size_t overrun = 0;
	if (n == 0)
		return 0;
	if (ledger_capture(db, c, n, &overrun) < 0)
		return -1;
	return overrun ? pause_short(db, ev, c, n) : 0;
}
