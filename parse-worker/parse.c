/*
 * Parse handler. A batch of queued jobs is claimed in one statement; jobs
 * whose provider is offline get their storyboard inside the claim (it takes
 * microseconds), the others go to a language model through parse_llm while
 * the worker keeps consuming. Finished storyboards are written for the whole
 * batch with a few statements: shots, job status (producing, or review when
 * the job asked for it), events, render messages and usage rows.
 */
#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing.h"
#include "charge.h"
#include "db.h"
#include "errbuf.h"
#include "events.h"
#include "jobs.h"
#include "log.h"
#include "parse_config.h"
#include "parse_llm.h"
#include "banned.h"

static int init(struct worker *w, const char *provider, char *err, size_t errlen)
{
	struct parse_config *s = worker_config(w);
	const struct parse_provider *p = parse_provider_find(provider);
	char names[160];
	if (!p)
		return errbuf_set(err, errlen, "REEL_PARSE_PROVIDER=%s: unknown provider (available: %s)", provider,
				  provider_names(&parse_registry, names, sizeof(names)));
	if (parse_config_prepare(s, err, errlen) < 0)
		return -1;
	struct parse_state *ps = xcalloc(1, sizeof(*ps));
	ps->settings = s;
	ps->provider = p;
	ps->http = http_client_new(worker_loop(w));
	worker_set_app(w, ps);
	return 0;
}

static char *value_or_null(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) || !*PQgetvalue(r, row, col) ? NULL : xstrdup(PQgetvalue(r, row, col));
}

static void read_job(struct parse_job *job, PGresult *r, int row)
{
	job->template_name = xstrdup(PQgetvalue(r, row, 2));
	job->text = value_or_null(r, row, 3);
	job->url = value_or_null(r, row, 4);
	job->max_shots = atoi(PQgetvalue(r, row, 5));
	job->style = value_or_null(r, row, 6);
	job->language = value_or_null(r, row, 7);
	job->review = strcmp(PQgetvalue(r, row, 8), "t") == 0;
	job->provider = value_or_null(r, row, 9);
	if (job->max_shots < 1)
		job->max_shots = 12;
}

/* Offline storyboards are made here, in the claim; the rest wait for ops->start. */
static int take_row(struct worker *w, struct task *t, PGresult *r, int row)
{
	struct parse_state *ps = worker_app(w);
	struct parse_data *pd = xcalloc(1, sizeof(*pd));
	t->data = pd;
	if (strcmp(PQgetvalue(r, row, 1), "queued") == 0)
		events_add(worker_events(w), t->env.job, -1, "parsing", NULL);
	read_job(&pd->job, r, row);
	pd->provider = pd->job.provider ? parse_provider_find(pd->job.provider) : ps->provider;
	if (!pd->provider) {
		char names[160];
		worker_task_fail(t, "unknown_provider",
				 "options.providers.parse is \"%s\", which this service does not offer (%s)",
				 pd->job.provider, provider_names(&parse_registry, names, sizeof(names)));
		return 0;
	}
	if (!pd->provider->offline) {
		t->claim = CLAIM_WORK;
		return 0;
	}
	t->claim = CLAIM_READY;
	if (pd->provider->offline(&pd->job, &pd->board, t->error, sizeof(t->error)) < 0)
		worker_task_fail(t, "empty_storyboard", "%s", t->error);
	else
		pd->meta_json = storyboard_meta_json(&pd->board);
	return 0;
}

/* Claims queued jobs (status parsing) and reads their input and options;
 * rows also carry the status before, so "parsing" is recorded once. Jobs
 * past parsing, canceled or gone are not claimed. */
static int claim(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] =
		"UPDATE jobs j SET status = 'parsing', updated_at = now() "
		"FROM (SELECT u.n, jobs.id, jobs.status AS old FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n) "
		"      JOIN jobs ON jobs.id = u.id FOR UPDATE OF jobs) o "
		"WHERE j.id = o.id AND j.status IN ('queued', 'parsing') "
		"RETURNING o.n, o.old, j.template, coalesce(j.input->>'text', j.input->>'description'), j.input->>'url', "
		"coalesce((j.options->>'max_shots')::int, 12), j.options->>'style', j.options->>'language', "
		"coalesce(j.options->'review' = 'true'::jsonb, false), j.options#>>'{providers,parse}'";
	return worker_claim_rows(w, worker_query_tasks(w, sql, tasks, n, false, NULL, 0), tasks, n, take_row);
}

static void start(struct task *t)
{
	parse_llm_start(worker_app(t->worker), t);
}

static const struct storyboard *board_of(const struct task *t)
{
	return &((const struct parse_data *)t->data)->board;
}

static int insert_shots(struct db *db, struct task **tasks, size_t n)
{
	static const char sql[] =
		"INSERT INTO shots (job_id, idx, prompt, narration, speaker, camera, est_duration_ms) "
		"SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[]) "
		"ON CONFLICT DO NOTHING";
	size_t total = 0, k = 0;
	for (size_t i = 0; i < n; i++)
		total += board_of(tasks[i])->n_shots;
	const char **text[5];
	for (int c = 0; c < 5; c++)
		text[c] = xmalloc(total * sizeof(char *));
	int64_t *idx = xmalloc(total * sizeof(int64_t)), *ms = xmalloc(total * sizeof(int64_t));
	for (size_t i = 0; i < n; i++) {
		const struct storyboard *b = board_of(tasks[i]);
		for (size_t s = 0; s < b->n_shots; s++, k++) {
			const struct sb_shot *shot = &b->shots[s];
			text[0][k] = tasks[i]->env.job;
			text[1][k] = shot->prompt;
			text[2][k] = shot->narration;
			text[3][k] = shot->speaker;
			text[4][k] = shot->camera;
			idx[k] = (int64_t)s;
			ms[k] = shot->duration_ms;
		}
	}
	char *a[7] = { db_text_array(text[0], total), db_int_array(idx, total),      db_text_array(text[1], total),
		       db_text_array(text[2], total), db_text_array(text[3], total), db_text_array(text[4], total),
		       db_int_array(ms, total) };
	int rc = db_run(db, sql, 7, (const char *const *)a);
	for (int i = 0; i < 7; i++)
		free(a[i]);
	for (int c = 0; c < 5; c++)
		free(text[c]);
	free(idx);
	free(ms);
	return rc;
}

/* Moves the jobs to producing (or review) with their storyboard; returns the
 * rows (task ordinals and status) that moved. */
static PGresult *advance_jobs(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] =
		"UPDATE jobs SET status = u.st, shots_total = u.k, storyboard = u.sb::jsonb, updated_at = now() "
		"FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[]) WITH ORDINALITY AS u(id, k, st, sb, n) "
		"WHERE jobs.id = u.id AND jobs.status = 'parsing' RETURNING u.n, u.st";
	int64_t *counts = xmalloc(n * sizeof(*counts));
	const char **status = xmalloc(n * sizeof(*status)), **meta = xmalloc(n * sizeof(*meta));
	for (size_t i = 0; i < n; i++) {
		const struct parse_data *pd = tasks[i]->data;
		counts[i] = (int64_t)pd->board.n_shots;
		status[i] = pd->job.review ? "review" : "producing";
		meta[i] = pd->meta_json;
	}
	char *extra[3] = { db_int_array(counts, n), db_text_array(status, n), db_text_array(meta, n) };
	PGresult *r = worker_query_tasks(w, sql, tasks, n, false, (const char *const *)extra, 3);
	for (int i = 0; i < 3; i++)
		free(extra[i]);
	free(counts);
	free(status);
	free(meta);
	return r;
}

/* provider_calls rows for every vendor call of the tasks; 0 when there are none. */
static int record_calls(struct db *db, struct task **tasks, size_t n)
{
	size_t total = 0, k = 0;
	for (size_t i = 0; i < n; i++)
		total += ((struct parse_data *)tasks[i]->data)->n_calls;
	const struct provider_call **calls = xmalloc((total ? total : 1) * sizeof(*calls));
	for (size_t i = 0; i < n; i++) {
		const struct parse_data *pd = tasks[i]->data;
		for (size_t c = 0; c < pd->n_calls; c++)
			calls[k++] = &pd->calls[c];
	}
	int rc = provider_calls_insert(db, "parse", calls, total);
	free(calls);
	return rc;
}

/* What the moved jobs' storyboards cost: every successful vendor call of
 * the attempt that made it (a repair that fixed the storyboard is one, the
 * invalid answer before it is not: its outcome is not ok); an offline
 * storyboard counts as one call. Failed attempts are never charged. */
static int charge(struct worker *w, struct task **moved, size_t n)
{
	const struct billing *b = worker_billing(w);
	if (!b)
		return 0;
	struct ledger_charge *c = xmalloc(n * sizeof(*c));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct parse_data *pd = moved[i]->data;
		long ok = pd->provider->offline ? 1 : 0;
		for (size_t j = 0; j < pd->n_calls; j++)
			ok += strcmp(pd->calls[j].outcome, "ok") == 0;
		if (ok)
			charge_set(&c[k++], b, moved[i]->env.job, "parse", pd->provider->info.name, -1, ok);
	}
	int rc = charge_kept(worker_db(w), worker_events(w), c, k);
	free(c);
	return rc;
}

/* Jobs canceled while their storyboard was being made do not move, and get no shots. */
static int commit(struct worker *w, struct task **tasks, size_t n)
{
	struct db *db = worker_db(w);
	char detail[48];
	PGresult *r;
	if (record_calls(db, tasks, n) < 0 || !(r = advance_jobs(w, tasks, n)))
		return -1;
	struct task **moved = xmalloc(n * sizeof(*moved));
	size_t n_moved = 0;
	for (int row = 0; row < PQntuples(r); row++) {
		struct task *t = moved[n_moved++] = worker_row_task(r, row, tasks, n);
		const char *status = PQgetvalue(r, row, 1);
		size_t shots = board_of(t)->n_shots;
		snprintf(detail, sizeof(detail), "{\"shots\":%zu}", shots);
		events_add(worker_events(w), t->env.job, -1, status, detail);
		if (strcmp(status, "producing") == 0)
			for (size_t i = 0; i < shots; i++)
				worker_emit(w, t, "render", (int)i);
	}
	PQclear(r);
	int rc = n_moved ? insert_shots(db, moved, n_moved) : 0;
	if (rc == 0 && n_moved)
		rc = charge(w, moved, n_moved);
	free(moved);
	return rc;
}

static int fail(struct worker *w, struct task *t)
{
	struct task *one[] = { t };
	if (t->data && record_calls(worker_db(w), one, 1) < 0)
		return -1;
	return jobs_fail(worker_db(w), worker_events(w), t->env.job, "parse", t->error_code, t->error, false);
}

static void release(struct task *t)
{
	parse_llm_data_free(t->data);
}

static void stop(struct worker *w)
{
	struct parse_state *ps = worker_app(w);
	if (!ps)
		return;
	http_client_free(ps->http);
	parse_config_release(ps->settings);
	free(ps);
	worker_set_app(w, NULL);
}

/* A retry is scheduled in the database and t->data freed: the calls of the
 * failed attempt are recorded now. */
static int defer(struct worker *w, struct task *t)
{
	struct task *one[] = { t };
	return t->data ? record_calls(worker_db(w), one, 1) : 0;
}

const struct stage_ops parse_ops = {
	.init = init,
	.claim = claim,
	.start = start,
	.commit = commit,
	.fail = fail,
	.defer = defer,
	.release = release,
	.stop = stop,
};
