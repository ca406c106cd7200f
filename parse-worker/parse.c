/*
 * Parse handler. The offline provider splits the text at sentence and
 * paragraph boundaries; it is quick enough to run inside the claim, so a
 * batch of jobs is claimed and their storyboards written in one transaction
 * with a few statements for the whole batch.
 */
#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "events.h"
#include "jobs.h"
#include "log.h"
#include "outbox.h"
#include "splitter.h"
#include "banned.h"

struct parse_data {
	struct storyboard_draft board;
};

static int init(struct worker *w, const char *provider, char *err, size_t errlen)
{
	(void)w;
	if (strcmp(provider, "offline") != 0)
		return errorf(err, errlen, "REEL_PARSE_PROVIDER=%s: unknown provider (available: offline)", provider);
	return 0;
}

static int take_row(struct worker *w, struct task *t, PGresult *r, int row)
{
	struct parse_data *pd = xcalloc(1, sizeof(*pd));
	if (strcmp(PQgetvalue(r, row, 1), "queued") == 0)
		events_add(worker_events(w), t->env.job, -1, "parsing", NULL);
	t->data = pd;
	t->claim = CLAIM_READY;
	if (splitter_split(PQgetvalue(r, row, 2), atoi(PQgetvalue(r, row, 3)),
			   PQgetisnull(r, row, 4) ? NULL : PQgetvalue(r, row, 4), &pd->board, t->error,
			   sizeof(t->error)) < 0)
		task_fail(t, "empty_storyboard", "%s", t->error);
	return 0;
}

/* Claims queued jobs (status parsing) and reads their text and options;
 * rows also carry the status before, so "parsing" is recorded once. Jobs
 * past parsing, canceled or gone are not claimed. */
static int claim(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] =
		"UPDATE jobs j SET status = 'parsing', updated_at = now() "
		"FROM (SELECT u.n, jobs.id, jobs.status AS old FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n) "
		"      JOIN jobs ON jobs.id = u.id FOR UPDATE OF jobs) o "
		"WHERE j.id = o.id AND j.status IN ('queued', 'parsing') "
		"RETURNING o.n, o.old, j.input->>'text', coalesce((j.options->>'max_shots')::int, 12), j.options->>'style'";
	return worker_claim_rows(w, worker_query_tasks(w, sql, tasks, n, false, NULL, 0), tasks, n, take_row);
}

static int insert_shots(struct db *db, struct task **tasks, size_t n)
{
	static const char sql[] = "INSERT INTO shots (job_id, idx, prompt, narration, est_duration_ms) "
				  "SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::int[]) "
				  "ON CONFLICT DO NOTHING";
	size_t total = 0, k = 0;
	for (size_t i = 0; i < n; i++)
		total += ((struct parse_data *)tasks[i]->data)->board.n_shots;
	const char **jobs = xmalloc(total * sizeof(char *)), **prompts = xmalloc(total * sizeof(char *)),
		   **texts = xmalloc(total * sizeof(char *));
	int64_t *idx = xmalloc(total * sizeof(int64_t)), *ms = xmalloc(total * sizeof(int64_t));
	for (size_t i = 0; i < n; i++) {
		const struct storyboard_draft *b = &((struct parse_data *)tasks[i]->data)->board;
		for (size_t s = 0; s < b->n_shots; s++, k++) {
			jobs[k] = tasks[i]->env.job;
			idx[k] = (int64_t)s;
			prompts[k] = b->shots[s].prompt;
			texts[k] = b->shots[s].narration;
			ms[k] = b->shots[s].duration_ms;
		}
	}
	char *a[5] = { db_text_array(jobs, total), db_int_array(idx, total), db_text_array(prompts, total),
		       db_text_array(texts, total), db_int_array(ms, total) };
	const char *params[] = { a[0], a[1], a[2], a[3], a[4] };
	int rc = db_run(db, sql, 5, params);
	for (int i = 0; i < 5; i++)
		free(a[i]);
	free(jobs);
	free(prompts);
	free(texts);
	free(idx);
	free(ms);
	return rc;
}

/* Moves the jobs to producing; returns the rows (task ordinals) that moved. */
static PGresult *start_producing(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] = "UPDATE jobs SET status = 'producing', shots_total = u.k, updated_at = now() "
				  "FROM unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS u(id, k, n) "
				  "WHERE jobs.id = u.id AND jobs.status = 'parsing' RETURNING u.n";
	int64_t *counts = xmalloc(n * sizeof(*counts));
	for (size_t i = 0; i < n; i++)
		counts[i] = (int64_t)((struct parse_data *)tasks[i]->data)->board.n_shots;
	char *k = db_int_array(counts, n);
	PGresult *r = worker_query_tasks(w, sql, tasks, n, false, (const char *const[]){ k }, 1);
	free(k);
	free(counts);
	return r;
}

static int commit(struct worker *w, struct task **tasks, size_t n)
{
	struct db *db = worker_db(w);
	char detail[48];
	PGresult *r;
	if (insert_shots(db, tasks, n) < 0 || !(r = start_producing(w, tasks, n)))
		return -1;
	for (int row = 0; row < PQntuples(r); row++) {
		struct task *t = worker_row_task(r, row, tasks, n);
		size_t shots = ((struct parse_data *)t->data)->board.n_shots;
		snprintf(detail, sizeof(detail), "{\"shots\":%zu}", shots);
		events_add(worker_events(w), t->env.job, -1, "producing", detail);
		for (size_t i = 0; i < shots; i++)
			worker_emit(w, t, "render", (int)i);
	}
	PQclear(r);
	return 0;
}

static int fail(struct worker *w, struct task *t)
{
	return jobs_fail(worker_db(w), worker_events(w), t->env.job, "parse", t->error_code, t->error, false);
}

static void release(struct task *t)
{
	struct parse_data *pd = t->data;
	if (!pd)
		return;
	splitter_release(&pd->board);
	free(pd);
}

const struct stage_ops parse_ops = {
	.init = init,
	.claim = claim,
	.commit = commit,
	.fail = fail,
	.release = release,
};
