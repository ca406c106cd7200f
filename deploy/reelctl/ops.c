/*
 * reelctl timeline and requeue. The timeline prints a job's job_events rows
 * with the time since the first one. Requeue re-announces stuck jobs (the
 * reel_stuck_jobs view, or the jobs named) by writing outbox rows in one
 * transaction: any running daemon's outbox relay publishes them, so the
 * handlers' own idempotence decides what is still to do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "db.h"
#include "envelope.h"
#include "reelctl.h"
#include "str.h"
#include "banned.h"

static const char timeline_help[] =
	"usage: reelctl timeline JOB\n"
	"Prints the job's events in order: seconds since the first, shot (- for the job), kind, detail.\n";

static const char requeue_help[] =
	"usage: reelctl requeue [--dry-run] [JOB...]\n"
	"Re-announces stuck jobs through the outbox: the jobs of the reel_stuck_jobs view, or the JOBs named\n"
	"(whatever their age). queued/parsing jobs get a parse message, producing jobs a render message per\n"
	"pending or rendering shot and a tts message per rendered or voicing shot, merging jobs a merge\n"
	"message. A running daemon's outbox relay publishes them within seconds.\n";

long ops_change(struct db *db, const char *command, const char *sql, int nparams, const char *const *params)
{
	PGresult *r = db_exec(db, sql, nparams, params);
	if (!r) {
		fprintf(stderr, "reelctl %s: %s\n", command, db_last_error(db));
		return -1;
	}
	long n = db_affected(r);
	PQclear(r);
	return n;
}

int ops_timeline(struct db *db, int argc, char **argv)
{
	static const char sql[] =
		"SELECT to_char(e.at, 'YYYY-MM-DD HH24:MI:SS.MS'), "
		"to_char(extract(epoch FROM e.at - min(e.at) OVER ()), 'FM99999990.000'), "
		"coalesce(e.shot::text, '-'), e.kind, coalesce(e.detail::text, ''), j.status, j.trace "
		"FROM job_events e JOIN jobs j ON j.id = e.job_id WHERE e.job_id = $1::uuid ORDER BY e.seq";
	if (args_help(argc, argv, timeline_help))
		return 0;
	if (argc != 3) {
		fputs(timeline_help, stderr);
		return 2;
	}
	const char *params[] = { argv[2] };
	PGresult *r = db_exec(db, sql, 1, params);
	if (!r) {
		fprintf(stderr, "reelctl timeline: %s\n", db_last_error(db));
		return 1;
	}
	if (PQntuples(r) == 0) {
		fprintf(stderr, "reelctl timeline: no events for job %s\n", argv[2]);
		PQclear(r);
		return 1;
	}
	printf("job %s  status %s  trace %s\n", argv[2], PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 6));
	for (int i = 0; i < PQntuples(r); i++)
		printf("%s  +%9ss  shot %-3s %-10s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
		       PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
	PQclear(r);
	return 0;
}

/* One row per message to send: job, shot (NULL for job-level), stage, trace. */
static const char plan_sql[] =
	"WITH j AS (SELECT id, status, trace FROM jobs WHERE "
	"  CASE WHEN cardinality($1::uuid[]) = 0 THEN id IN (SELECT id FROM reel_stuck_jobs) "
	"  ELSE id = ANY($1::uuid[]) AND status IN ('queued', 'parsing', 'producing', 'merging') END) "
	"SELECT j.id, NULL::integer, 'parse', j.trace FROM j WHERE j.status IN ('queued', 'parsing') "
	"UNION ALL SELECT j.id, s.idx, CASE WHEN s.status IN ('pending', 'rendering') THEN 'render' ELSE 'tts' END, "
	"  j.trace FROM j JOIN shots s ON s.job_id = j.id "
	"  WHERE j.status = 'producing' AND s.status IN ('pending', 'rendering', 'rendered', 'voicing') "
	"UNION ALL SELECT j.id, NULL, 'merge', j.trace FROM j WHERE j.status = 'merging' "
	"ORDER BY 1, 2";

static int stage_row(struct db *db, const char *prefix, PGresult *plan, int i)
{
	static const char sql[] = "INSERT INTO outbox (topic, key, value) VALUES ($1, $2, $3)";
	struct envelope env = { .shot = PQgetisnull(plan, i, 1) ? -1 : atoi(PQgetvalue(plan, i, 1)), .attempt = 1 };
	char value[256], key[96], topic[128];
	str_copy(env.job, PQgetvalue(plan, i, 0), sizeof(env.job));
	str_copy(env.trace, PQgetvalue(plan, i, 3), sizeof(env.trace));
	if (envelope_encode(&env, value, sizeof(value)) < 0)
		return -1;
	envelope_key(&env, key, sizeof(key));
	snprintf(topic, sizeof(topic), "%s%s", prefix, PQgetvalue(plan, i, 2));
	const char *params[] = { topic, key, value };
	return db_run(db, sql, 3, params);
}

static int write_plan(struct db *db, PGresult *plan)
{
	const char *prefix = getenv("REEL_TOPIC_PREFIX");
	if (!prefix)
		prefix = "reel.";
	if (db_begin(db) < 0)
		return -1;
	for (int i = 0; i < PQntuples(plan); i++)
		if (stage_row(db, prefix, plan, i) < 0) {
			db_rollback(db);
			return -1;
		}
	return db_run(db, "COMMIT", 0, NULL);
}

int ops_requeue(struct db *db, int argc, char **argv)
{
	int dry = args_has(argc, argv, "--dry-run"), rc = 0;
	const char *ids[256];
	size_t n = 0;
	if (args_help(argc, argv, requeue_help))
		return 0;
	if (argc - 2 > 256) {
		fputs("reelctl requeue: at most 256 jobs at once\n", stderr);
		return 2;
	}
	for (int i = 2; i < argc && n < 256; i++)
		if (strcmp(argv[i], "--dry-run") != 0)
			ids[n++] = argv[i];
	char *arr = db_text_array(ids, n);
	const char *params[] = { arr };
	PGresult *plan = db_exec(db, plan_sql, 1, params);
	free(arr);
	if (!plan) {
		fprintf(stderr, "reelctl requeue: %s\n", db_last_error(db));
		return 1;
	}
	for (int i = 0; i < PQntuples(plan); i++)
		printf("%s %s shot %s\n", dry ? "would send" : "sending", PQgetvalue(plan, i, 2),
		       PQgetisnull(plan, i, 1) ? "-" : PQgetvalue(plan, i, 1));
	if (!dry && PQntuples(plan) && write_plan(db, plan) < 0) {
		fprintf(stderr, "reelctl requeue: %s\n", db_last_error(db));
		rc = 1;
	}
	printf("%d message(s) %s\n", PQntuples(plan), dry ? "would be sent" : rc ? "not sent" : "queued in the outbox");
	PQclear(plan);
	return rc;
}
