/*
 * Stage progress and timings. A stage is "waiting" until its first message,
 * "running" while work is in flight, "done" when every shot passed it.
 * Timings: created = the stage's work was first asked for (queued,
 * producing, the first shot rendered, merging), started = its first sign
 * of work (parsing, the first shot rendered or voiced, merge progress),
 * finished = when it completed; null until then.
 */
#include "job_stages.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"
#include "banned.h"

enum {
	T_QUEUED,
	T_PARSING,
	T_PARSED,
	T_PRODUCING,
	T_RENDER_FIRST,
	T_RENDER_LAST,
	T_READY_FIRST,
	T_READY_LAST,
	T_MERGING,
	T_MERGE_PROGRESS,
	T_DONE,
	T_MERGE_PERCENT,
	T_COUNT
};

_Static_assert(T_COUNT == JOB_STAGES_COLS, "JOB_STAGES_SELECT lists every timing");

/* The timings of one job: a view of row 0 of a result from its first timing column. */
struct timings {
	PGresult *r;
	int col;
};

static const char *cell(const struct timings *t, int which)
{
	return PQgetisnull(t->r, 0, t->col + which) ? NULL : PQgetvalue(t->r, 0, t->col + which);
}

static void add_time(cJSON *o, const char *name, const char *value)
{
	if (value)
		cJSON_AddStringToObject(o, name, value);
	else
		cJSON_AddNullToObject(o, name);
}

static void add_timing(cJSON *timings, const char *stage, const char *created, const char *started,
		       const char *finished)
{
	cJSON *o = cJSON_AddObjectToObject(timings, stage);
	add_time(o, "created", created);
	add_time(o, "started", started);
	add_time(o, "finished", finished);
}

static int is(const char *s, const char *a)
{
	return strcmp(s, a) == 0;
}

/* A shot stage: done counts shots past it (skipped ones too). */
static void add_shot_stage(cJSON *stages, const char *name, int done, int total, int started)
{
	cJSON *o = cJSON_AddObjectToObject(stages, name);
	const char *st = total > 0 && done == total ? "done" : started ? "running" : "waiting";
	cJSON_AddStringToObject(o, "status", st);
	cJSON_AddNumberToObject(o, "done", done);
	cJSON_AddNumberToObject(o, "total", total);
	cJSON_AddNumberToObject(o, "percent", total ? 100 * done / total : 0);
}

static void add_stage(cJSON *stages, const char *name, const char *st, int percent)
{
	cJSON *o = cJSON_AddObjectToObject(stages, name);
	cJSON_AddStringToObject(o, "status", st);
	cJSON_AddNumberToObject(o, "percent", percent);
}

/* How many shots passed render and tts (skipped ones count as passed). */
static void count_passed(PGresult *r, int scol, int nshots, int *rendered, int *voiced)
{
	*rendered = *voiced = 0;
	for (int i = 0; i < nshots; i++) {
		const char *s = PQgetvalue(r, i, scol);
		*rendered += is(s, "rendered") || is(s, "voicing") || is(s, "ready") || is(s, "skipped");
		*voiced += is(s, "ready") || is(s, "skipped");
	}
}

static const char *merge_state(const char *status)
{
	return is(status, "done") ? "done" : is(status, "merging") ? "running" : "waiting";
}

void job_stages_add(cJSON *job, const char *status, PGresult *r, int tcol, int scol, int nshots)
{
	const struct timings tm = { r, tcol }, *t = &tm;
	int total = nshots, rendered, voiced;
	count_passed(r, scol, nshots, &rendered, &voiced);
	int parsed = total > 0 || cell(t, T_PARSED), merged = is(status, "done");
	const char *pct = is(status, "merging") ? cell(t, T_MERGE_PERCENT) : NULL;
	const char *merge_started = cell(t, T_MERGE_PROGRESS) ? cell(t, T_MERGE_PROGRESS) : cell(t, T_MERGING);

	cJSON *stages = cJSON_AddObjectToObject(cJSON_GetObjectItem(job, "progress"), "stages");
	add_stage(stages, "parse", parsed ? "done" : is(status, "parsing") ? "running" : "waiting", parsed ? 100 : 0);
	add_shot_stage(stages, "render", rendered, total, cell(t, T_PRODUCING) != NULL);
	add_shot_stage(stages, "tts", voiced, total, cell(t, T_RENDER_FIRST) != NULL);
	int merge_pct = merged ? 100 : pct ? atoi(pct) : 0;
	add_stage(stages, "merge", merge_state(status), merge_pct < 0 ? 0 : merge_pct > 99 && !merged ? 99 : merge_pct);

	cJSON *timings = cJSON_AddObjectToObject(job, "timings");
	add_timing(timings, "parse", cell(t, T_QUEUED), cell(t, T_PARSING), parsed ? cell(t, T_PARSED) : NULL);
	add_timing(timings, "render", cell(t, T_PRODUCING), cell(t, T_RENDER_FIRST),
		   total && rendered == total ? cell(t, T_RENDER_LAST) : NULL);
	add_timing(timings, "tts", cell(t, T_RENDER_FIRST), cell(t, T_READY_FIRST),
		   total && voiced == total ? cell(t, T_READY_LAST) : NULL);
	add_timing(timings, "merge", cell(t, T_MERGING), merge_started, merged ? cell(t, T_DONE) : NULL);
}

void job_stages_add_new(cJSON *job, const char *created_at)
{
	static const char *const names[] = { "parse", "render", "tts", "merge" };
	cJSON *stages = cJSON_AddObjectToObject(cJSON_GetObjectItem(job, "progress"), "stages");
	cJSON *timings = cJSON_AddObjectToObject(job, "timings");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (i == 1 || i == 2)
			add_shot_stage(stages, names[i], 0, 0, 0);
		else
			add_stage(stages, names[i], "waiting", 0);
		add_timing(timings, names[i], i == 0 ? created_at : NULL, NULL, NULL);
	}
}
