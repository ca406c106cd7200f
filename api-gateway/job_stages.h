/*
 * The per-stage part of the job resource: how far parse, render, tts and
 * merge are ("progress.stages") and when each was asked for, began and
 * finished ("timings"), read from the shots and the job_events log.
 */
#ifndef REEL_JOB_STAGES_H
#define REEL_JOB_STAGES_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>

/* A timestamp column as the API spells it (UTC, milliseconds). */
#define JOB_STAGES_TS(e) "to_char(" e " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The select list of a job's stage timings, aggregated over its job_events
 * rows (kind, shot, at, detail, seq): JOB_STAGES_COLS columns of one row. */
/* clang-format off */
#define JOB_STAGES_SELECT \
	JOB_STAGES_TS("min(at) FILTER (WHERE kind = 'queued' AND shot IS NULL)") ", " \
	JOB_STAGES_TS("min(at) FILTER (WHERE kind = 'parsing' AND shot IS NULL)") ", " \
	JOB_STAGES_TS("min(at) FILTER (WHERE kind IN ('producing', 'review') AND shot IS NULL)") ", " \
	JOB_STAGES_TS("min(at) FILTER (WHERE kind = 'producing' AND shot IS NULL)") ", " \
	JOB_STAGES_TS("min(at) FILTER (WHERE kind = 'rendered')") ", " \
	JOB_STAGES_TS("max(at) FILTER (WHERE kind = 'rendered')") ", " \
	JOB_STAGES_TS("min(at) FILTER (WHERE kind = 'ready')") ", " \
	JOB_STAGES_TS("max(at) FILTER (WHERE kind = 'ready')") ", " \
	JOB_STAGES_TS("max(at) FILTER (WHERE kind = 'merging' AND shot IS NULL)") ", " \
	JOB_STAGES_TS("min(at) FILTER (WHERE kind = 'progress' AND detail->>'stage' = 'merge')") ", " \
	JOB_STAGES_TS("max(at) FILTER (WHERE kind = 'done' AND shot IS NULL)") ", " \
	"(array_agg(detail->>'percent' ORDER BY seq DESC) FILTER (WHERE kind = 'progress' " \
	" AND detail->>'stage' = 'merge'))[1]"
/* clang-format on */
#define JOB_STAGES_COLS 12

/* Adds progress.stages and timings to job (which has "progress"), for a job
 * in status: its timings are row 0 of r from column tcol on (as
 * JOB_STAGES_SELECT lists them), its nshots shots' statuses are column scol
 * of rows 0 to nshots - 1. */
void job_stages_add(cJSON *job, const char *status, PGresult *r, int tcol, int scol, int nshots);

/* The same for a job just created: every stage waiting, parse asked for at created_at. */
void job_stages_add_new(cJSON *job, const char *created_at);

#endif
