/*
 * reelctl dlq list / replay. Replaying a letter is one transaction: the
 * letter is marked replayed, its message goes to the outbox as a first
 * attempt (any daemon's outbox relay publishes rows older than ten seconds),
 * a failed shot goes back to the state its stage starts from, and its job
 * resumes — a paused job only once none of its shots is failed any more.
 */
#include "dlq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "banned.h"

static const char list_sql[] = "SELECT id, to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS'), stage, key, attempts, "
			       "coalesce(to_char(replayed_at, 'YYYY-MM-DD\"T\"HH24:MI:SS'), '-'), error "
			       "FROM dead_letters WHERE $1::bool OR replayed_at IS NULL ORDER BY id";

/* $1: one letter's id, or NULL for every unreplayed letter. */
static const char take_sql[] =
	"UPDATE dead_letters SET replayed_at = now() WHERE replayed_at IS NULL AND ($1::bigint IS NULL OR id = $1) "
	"RETURNING id";
static const char outbox_sql[] =
	"INSERT INTO outbox (topic, key, value) SELECT topic, key, "
	"CASE WHEN job_id IS NULL THEN value ELSE (value::jsonb || '{\"attempt\":1}')::text END "
	"FROM dead_letters WHERE id = ANY($1::bigint[]) ORDER BY id";
static const char shots_sql[] =
	"UPDATE shots s SET status = CASE d.stage WHEN 'render' THEN 'pending' ELSE 'rendered' END, error = NULL, "
	"retry_at = NULL, retry_attempt = NULL, updated_at = now() FROM dead_letters d "
	"WHERE d.id = ANY($1::bigint[]) AND d.stage IN ('render', 'tts') AND s.job_id = d.job_id AND s.idx = d.shot "
	"AND s.status = 'failed'";
static const char jobs_sql[] =
	"WITH j AS (UPDATE jobs SET status = CASE d.stage WHEN 'parse' THEN 'queued' WHEN 'merge' THEN 'merging' "
	"  ELSE 'producing' END, error = NULL, finished_at = NULL, retry_at = NULL, updated_at = now() "
	"  FROM dead_letters d WHERE d.id = ANY($1::bigint[]) AND jobs.id = d.job_id "
	"  AND ((jobs.status = 'paused' AND d.stage IN ('render', 'tts') "
	"        AND NOT EXISTS (SELECT 1 FROM shots s WHERE s.job_id = jobs.id AND s.status = 'failed')) "
	"    OR (jobs.status = 'failed' AND d.stage IN ('parse', 'merge'))) "
	"  RETURNING jobs.id, jobs.status) "
	"INSERT INTO job_events (job_id, kind, detail) SELECT id, status, '{\"reason\":\"dead letter replayed\"}' FROM j";

static int list(struct db *db, int argc, char **argv)
{
	const char *params[] = { argc > 3 && strcmp(argv[3], "--all") == 0 ? "true" : "false" };
	PGresult *r = db_exec(db, list_sql, 1, params);
	if (!r) {
		fprintf(stderr, "reelctl dlq list: %s\n", db_last_error(db));
		return 1;
	}
	printf("%-6s %-19s %-7s %-44s %-3s %-19s %s\n", "ID", "CREATED", "STAGE", "KEY", "ATT", "REPLAYED", "ERROR");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-6s %-19s %-7s %-44s %-3s %-19s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
		       PQgetvalue(r, i, 6));
	PQclear(r);
	return 0;
}

/* The ids taken as a bigint[] literal, or NULL when none; the caller frees. */
static char *take(struct db *db, const char *id, int *n)
{
	const char *params[] = { id };
	PGresult *r = db_exec(db, take_sql, 1, params);
	if (!r)
		return NULL;
	*n = PQntuples(r);
	int64_t *ids = xmalloc(((size_t)*n + 1) * sizeof(*ids));
	for (int i = 0; i < *n; i++)
		ids[i] = atoll(PQgetvalue(r, i, 0));
	PQclear(r);
	char *arr = db_int_array(ids, (size_t)*n);
	free(ids);
	return arr;
}

static int replay(struct db *db, const char *id)
{
	int n = 0, rc = -1;
	char *ids = NULL;
	if (db_begin(db) == 0 && (ids = take(db, id, &n))) {
		struct db_stmt stmts[] = { { outbox_sql, 1, { ids }, NULL },
					   { shots_sql, 1, { ids }, NULL },
					   { jobs_sql, 1, { ids }, NULL } };
		rc = db_pipeline_commit(db, stmts, ARRAY_SIZE(stmts));
		for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(stmts); i++)
			PQclear(stmts[i].result);
	}
	free(ids);
	if (rc < 0) {
		fprintf(stderr, "reelctl dlq replay: %s\n", db_last_error(db));
		db_rollback(db);
		return 1;
	}
	printf("replayed %d dead letter%s\n", n, n == 1 ? "" : "s");
	return id && n == 0 ? 1 : 0;
}

int dlq_command(struct db *db, int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[2], "list") == 0)
		return list(db, argc, argv);
	if (argc == 4 && strcmp(argv[2], "replay") == 0) {
		if (strcmp(argv[3], "--all") == 0)
			return replay(db, NULL);
		char *end;
		strtoll(argv[3], &end, 10);
		if (*argv[3] && !*end)
			return replay(db, argv[3]);
	}
	fprintf(stderr, "usage: reelctl dlq list [--all] | reelctl dlq replay ID|--all\n");
	return 2;
}
