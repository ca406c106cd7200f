/*
 * The job resource of docs/architecture.md, rendered from the jobs and shots rows.
 */
#include "job_view.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "files_api.h"
#include "gateway.h"
#include "job_stages.h"
#include "json.h"
#include "storage.h"
#include "banned.h"

/* Columns of the one statement: the job, its stage timings, then a shot per
 * row (the job's columns repeat; one row of NULL shot columns when it has none). */
enum {
	J_STATUS,
	J_TEMPLATE,
	J_ERROR,
	J_OUTPUT,
	J_CREATED,
	J_UPDATED,
	J_TOTAL,
	J_READY,
	J_OPTIONS,
	J_EXPIRED,
	J_SHOTS_EXPIRED,
	J_RESERVED,
	J_CAPTURED,
	J_TIMINGS,
	S_INDEX = J_TIMINGS + JOB_STAGES_COLS,
	S_STATUS,
	S_PROMPT,
	S_NARRATION,
	S_SPEAKER,
	S_DURATION,
	S_IMAGE,
	S_VIDEO,
	S_AUDIO,
	S_ERROR,
	S_VOICE
};

/* The whole resource in one round trip, so a cache miss costs one query. */
static PGresult *load_job(struct db *db, const char *id, const char *owner)
{
	/* clang-format off */
	static const char sql[] =
		"WITH j AS MATERIALIZED (SELECT status, template, error::text, output::text, "
		JOB_STAGES_TS("created_at") ", " JOB_STAGES_TS("updated_at") ", shots_total, shots_ready, "
		"options::text, expired_at IS NOT NULL, shots_expired_at IS NOT NULL, c.reserved, c.captured "
		"FROM jobs LEFT JOIN job_costs c ON c.job_id = jobs.id WHERE jobs.id = $1 AND jobs.owner = $2), "
		"t AS MATERIALIZED (SELECT " JOB_STAGES_SELECT " FROM job_events WHERE job_id = $1 AND EXISTS (SELECT FROM j)) "
		"SELECT j.*, t.*, s.idx, s.status, s.prompt, s.narration, s.speaker, "
		"coalesce(s.duration_ms, s.est_duration_ms), s.image_key, s.video_key, s.audio_key, s.error::text, "
		"s.voice::text "
		"FROM j CROSS JOIN t LEFT JOIN shots s ON s.job_id = $1 ORDER BY s.idx";
	/* clang-format on */
	const char *params[] = { id, owner };
	return db_exec(db, sql, 2, params);
}

/* Rows that carry a shot: all of them, unless the one row has none. */
static int shot_count(PGresult *r)
{
	return PQgetisnull(r, 0, S_INDEX) ? 0 : PQntuples(r);
}

static void add_text_or_null(cJSON *o, const char *name, PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddStringToObject(o, name, PQgetvalue(r, row, col));
}

static void add_json_or_null(cJSON *o, const char *name, PGresult *r, int row, int col)
{
	cJSON *v = PQgetisnull(r, row, col) ? NULL : cJSON_Parse(PQgetvalue(r, row, col));
	cJSON_AddItemToObject(o, name, v ? v : cJSON_CreateNull());
}

/* A shot's media link; null when there is none or retention deleted it (gone). */
static void add_url_or_null(cJSON *o, const char *name, const struct gateway *g, PGresult *r, int row, int col,
			    bool gone)
{
	if (gone || PQgetisnull(r, row, col)) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	char *url = files_api_file_url(g, PQgetvalue(r, row, col));
	cJSON_AddStringToObject(o, name, url);
	free(url);
}

static cJSON *render_shots(const struct gateway *g, PGresult *s, int n, bool gone)
{
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "index", atoi(PQgetvalue(s, i, S_INDEX)));
		cJSON_AddStringToObject(o, "status", PQgetvalue(s, i, S_STATUS));
		cJSON_AddStringToObject(o, "prompt", PQgetvalue(s, i, S_PROMPT));
		cJSON_AddStringToObject(o, "narration", PQgetvalue(s, i, S_NARRATION));
		add_text_or_null(o, "speaker", s, i, S_SPEAKER);
		cJSON_AddNumberToObject(o, "duration_ms", atoi(PQgetvalue(s, i, S_DURATION)));
		add_url_or_null(o, "image_url", g, s, i, S_IMAGE, gone);
		add_url_or_null(o, "video_url", g, s, i, S_VIDEO, gone);
		add_url_or_null(o, "audio_url", g, s, i, S_AUDIO, gone);
		add_json_or_null(o, "voice", s, i, S_VOICE); /* who spoke it; null before */
		add_json_or_null(o, "error", s, i, S_ERROR);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int job_view_percent(const char *status, int total, int ready)
{
	if (strcmp(status, "done") == 0)
		return 100;
	if (strcmp(status, "queued") == 0 || strcmp(status, "parsing") == 0 || total == 0)
		return strcmp(status, "parsing") == 0 ? 5 : 0;
	if (strcmp(status, "merging") == 0)
		return 90;
	return 10 + 80 * ready / total;
}

/* The signed link of the output's storage key member, or null. */
static void add_output_url(cJSON *o, const struct gateway *g, const cJSON *out, const char *key_name,
			   const char *url_name, bool gone)
{
	const char *key = gone ? NULL : json_str(out, key_name);
	char *url = key ? files_api_file_url(g, key) : NULL;
	if (url)
		cJSON_AddStringToObject(o, url_name, url);
	else
		cJSON_AddNullToObject(o, url_name);
	free(url);
}

/* The output's links; all null once retention deleted the files (gone). */
static cJSON *render_output(const struct gateway *g, const char *id, PGresult *j, bool gone)
{
	cJSON *out, *o;
	const char *key;
	if (PQgetisnull(j, 0, J_OUTPUT))
		return cJSON_CreateNull();
	out = cJSON_Parse(PQgetvalue(j, 0, J_OUTPUT));
	o = cJSON_CreateObject();
	add_output_url(o, g, out, "video_key", "video_url", gone);
	add_output_url(o, g, out, "poster_key", "poster_url", gone);
	add_output_url(o, g, out, "srt_key", "srt_url", gone);
	add_output_url(o, g, out, "vtt_key", "vtt_url", gone);
	if (!gone && json_str(out, "manifest_key")) {
		char *url = xasprintf("/v1/jobs/%s/manifest", id);
		cJSON_AddStringToObject(o, "manifest_url", url);
		free(url);
	} else {
		cJSON_AddNullToObject(o, "manifest_url");
	}
	if (!gone && (key = json_str(out, "video_key")) && storage_is_local(g->d->storage)) {
		char *path = storage_path(g->d->storage, key);
		if (path)
			cJSON_AddStringToObject(o, "video_path", path);
		free(path);
	}
	long ms;
	if (json_int(out, "duration_ms", &ms) == 0)
		cJSON_AddNumberToObject(o, "duration_ms", (double)ms);
	cJSON_Delete(out);
	return o;
}

void job_view_add_cost(cJSON *o, long reserved, long captured)
{
	cJSON *cost = cJSON_AddObjectToObject(o, "cost");
	cJSON_AddNumberToObject(cost, "reserved", (double)reserved);
	cJSON_AddNumberToObject(cost, "captured", (double)captured);
}

/* Where a client goes next from a job. */
static void add_links(cJSON *o, const char *id)
{
	static const char *const names[] = { "self", "events", "manifest" };
	static const char *const tails[] = { "", "/events", "/manifest" };
	cJSON *links = cJSON_AddObjectToObject(o, "links");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *url = xasprintf("/v1/jobs/%s%s", id, tails[i]);
		cJSON_AddStringToObject(links, names[i], url);
		free(url);
	}
}

static char *render(const struct gateway *g, const char *id, PGresult *j)
{
	cJSON *o = cJSON_CreateObject(), *progress;
	const char *status = PQgetvalue(j, 0, J_STATUS);
	int total = atoi(PQgetvalue(j, 0, J_TOTAL)), ready = atoi(PQgetvalue(j, 0, J_READY)), n = shot_count(j);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddStringToObject(o, "template", PQgetvalue(j, 0, J_TEMPLATE));
	add_json_or_null(o, "error", j, 0, J_ERROR);
	cJSON_AddStringToObject(o, "created_at", PQgetvalue(j, 0, J_CREATED));
	cJSON_AddStringToObject(o, "updated_at", PQgetvalue(j, 0, J_UPDATED));
	add_json_or_null(o, "options", j, 0, J_OPTIONS);
	progress = cJSON_AddObjectToObject(o, "progress");
	cJSON_AddNumberToObject(progress, "shots_total", total);
	cJSON_AddNumberToObject(progress, "shots_ready", ready);
	cJSON_AddNumberToObject(progress, "percent", job_view_percent(status, total, ready));
	bool expired = *PQgetvalue(j, 0, J_EXPIRED) == 't';
	cJSON_AddBoolToObject(o, "expired", expired); /* retention deleted the media: no links */
	cJSON_AddItemToObject(o, "shots", render_shots(g, j, n, expired || *PQgetvalue(j, 0, J_SHOTS_EXPIRED) == 't'));
	cJSON_AddItemToObject(o, "output", render_output(g, id, j, expired));
	if (!PQgetisnull(j, 0, J_RESERVED))
		job_view_add_cost(o, atol(PQgetvalue(j, 0, J_RESERVED)), atol(PQgetvalue(j, 0, J_CAPTURED)));
	add_links(o, id);
	job_stages_add(o, status, j, J_TIMINGS, S_STATUS, n);
	char *text = json_print(o);
	cJSON_Delete(o);
	return text;
}

char *job_view_render(struct daemon *d, const char *id, const char *owner, int *found)
{
	PGresult *j = load_job(d->db, id, owner);
	char *text = NULL;
	*found = -1;
	if (!j)
		return NULL;
	if (PQntuples(j) == 0) {
		*found = 0;
	} else {
		text = render(d->app, id, j);
		*found = 1;
	}
	PQclear(j);
	return text;
}

char *job_view_new(const char *id, const char *template, const cJSON *options, const char *created_at, long reserved)
{
	cJSON *o = cJSON_CreateObject(), *progress;
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "status", "queued");
	cJSON_AddStringToObject(o, "template", template);
	cJSON_AddNullToObject(o, "error");
	cJSON_AddStringToObject(o, "created_at", created_at);
	cJSON_AddStringToObject(o, "updated_at", created_at);
	cJSON_AddItemToObject(o, "options", cJSON_Duplicate(options, 1));
	progress = cJSON_AddObjectToObject(o, "progress");
	cJSON_AddNumberToObject(progress, "shots_total", 0);
	cJSON_AddNumberToObject(progress, "shots_ready", 0);
	cJSON_AddNumberToObject(progress, "percent", 0);
	cJSON_AddBoolToObject(o, "expired", false);
	cJSON_AddItemToObject(o, "shots", cJSON_CreateArray());
	cJSON_AddNullToObject(o, "output");
	if (reserved >= 0)
		job_view_add_cost(o, reserved, 0);
	add_links(o, id);
	job_stages_add_new(o, created_at);
	char *text = json_print(o);
	cJSON_Delete(o);
	return text;
}
