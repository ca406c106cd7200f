/*
 * Thin calls of the ledger's SQL functions, batched: a worker's transaction
 * settles many tasks and pays for them with one statement.
 */
#include "ledger.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "banned.h"

int ledger_capture(struct db *db, const struct ledger_charge *c, size_t n, size_t *overrun)
{
	static const char sql[] =
		"SELECT reel_capture_batch($1::uuid[], $2::text[], $3::text[], $4::int[], $5::bigint[])";
	if (overrun)
		*overrun = 0;
	if (n == 0)
		return 0;
	const char **jobs = xmalloc(n * sizeof(*jobs)), **stages = xmalloc(n * sizeof(*stages)),
		   **providers = xmalloc(n * sizeof(*providers));
	int64_t *shots = xmalloc(n * sizeof(*shots)), *credits = xmalloc(n * sizeof(*credits));
	for (size_t i = 0; i < n; i++) {
		jobs[i] = c[i].job;
		stages[i] = c[i].stage;
		providers[i] = c[i].provider;
		shots[i] = c[i].shot;
		credits[i] = c[i].credits;
	}
	char *arrays[5] = { db_text_array(jobs, n), db_text_array(stages, n), db_text_array(providers, n),
			    db_int_array(shots, n), db_int_array(credits, n) };
	PGresult *r = db_exec(db, sql, 5, (const char *const *)arrays);
	int rc = r ? 0 : -1;
	if (r && overrun)
		*overrun = (size_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	for (size_t i = 0; i < 5; i++)
		free(arrays[i]);
	free(jobs);
	free(stages);
	free(providers);
	free(shots);
	free(credits);
	return rc;
}

int ledger_reserve(struct db *db, const char *const *jobs, const char *const *owners, const long *amounts, size_t n,
		   bool *ok)
{
	static const char sql[] = "SELECT reel_reserve(u.job, u.owner, u.amount) FROM unnest($1::uuid[], $2::text[], "
				  "$3::bigint[]) WITH ORDINALITY AS u(job, owner, amount, n) ORDER BY u.n";
	int64_t *a = xmalloc((n ? n : 1) * sizeof(*a));
	for (size_t i = 0; i < n; i++)
		a[i] = amounts[i];
	char *arrays[3] = { db_text_array(jobs, n), db_text_array(owners, n), db_int_array(a, n) };
	PGresult *r = db_exec(db, sql, 3, (const char *const *)arrays);
	int rc = r && (size_t)PQntuples(r) == n ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		ok[i] = PQgetvalue(r, (int)i, 0)[0] == 't';
	PQclear(r);
	for (size_t i = 0; i < 3; i++)
		free(arrays[i]);
	free(a);
	return rc;
}

int ledger_credit(struct db *db, const char *owner, const char *kind, long amount, const char *payment,
		  const char *reason)
{
	static const char sql[] = "SELECT reel_credit($1, $2, $3::bigint, $4, $5)";
	char text[24];
	snprintf(text, sizeof(text), "%ld", amount);
	const char *params[] = { owner, kind, text, payment, reason };
	PGresult *r = db_exec(db, sql, 5, params);
	int rc = r ? 0 : -1;
	PQclear(r);
	return rc;
}
