/*
 * Parse handler. The offline provider splits the text at sentence and
 * paragraph boundaries; it is quick enough to run inside the claim, so a
 * job is claimed and its storyboard written in one transaction.
 */
#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
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

/* Claims a queued job: status parsing, the event once, and its text and options. */
static PGresult *claim_job(struct db *db, const char *job)
{
	static const char sql[] =
		"UPDATE jobs j SET status = 'parsing', updated_at = now() "
		"FROM (SELECT id, status AS old FROM jobs WHERE id = $1 FOR UPDATE) o "
		"WHERE j.id = o.id AND j.status IN ('queued', 'parsing') "
		"RETURNING o.old, j.input->>'text', coalesce((j.options->>'max_shots')::int, 12), j.options->>'style'";
	const char *params[] = { job };
	return db_exec(db, sql, 1, params);
}

static enum claim_result claim(struct worker *w, struct task *t)
{
	struct db *db = worker_db(w);
	struct parse_data *pd;
	PGresult *r = claim_job(db, t->env.job);
	if (!r)
		return CLAIM_ERROR;
	if (PQntuples(r) == 0) {
		PQclear(r);
		log_info("job is past parsing or gone; nothing to do");
		return CLAIM_DONE;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "queued") == 0 && jobs_event(db, worker_outbox(w), t->env.job, -1, "parsing", NULL) < 0) {
		PQclear(r);
		return CLAIM_ERROR;
	}
	pd = xcalloc(1, sizeof(*pd));
	t->data = pd;
	if (splitter_split(PQgetvalue(r, 0, 1), atoi(PQgetvalue(r, 0, 2)),
			   PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3), &pd->board, t->error,
			   sizeof(t->error)) < 0)
		task_fail(t, "empty_storyboard", "%s", t->error);
	PQclear(r);
	return CLAIM_READY;
}

static int insert_shots(struct db *db, const char *job, const struct storyboard_draft *b)
{
	static const char sql[] = "INSERT INTO shots (job_id, idx, prompt, narration, est_duration_ms) "
				  "SELECT $1, n - 1, p, t, d FROM unnest($2::text[], $3::text[], $4::int[]) "
				  "WITH ORDINALITY AS u(p, t, d, n) ON CONFLICT DO NOTHING";
	const char **prompts = xmalloc(b->n_shots * sizeof(char *)), **texts = xmalloc(b->n_shots * sizeof(char *));
	int64_t *durations = xmalloc(b->n_shots * sizeof(int64_t));
	for (size_t i = 0; i < b->n_shots; i++) {
		prompts[i] = b->shots[i].prompt;
		texts[i] = b->shots[i].narration;
		durations[i] = b->shots[i].duration_ms;
	}
	char *a = db_text_array(prompts, b->n_shots), *n = db_text_array(texts, b->n_shots),
	     *d = db_int_array(durations, b->n_shots);
	const char *params[] = { job, a, n, d };
	int rc = db_run(db, sql, 4, params);
	free(a);
	free(n);
	free(d);
	free(prompts);
	free(texts);
	free(durations);
	return rc;
}

static int commit(struct worker *w, struct task *t)
{
	static const char sql[] = "UPDATE jobs SET status = 'producing', shots_total = $2, updated_at = now() "
				  "WHERE id = $1 AND status = 'parsing'";
	struct parse_data *pd = t->data;
	struct db *db = worker_db(w);
	char count[16], detail[48];
	const char *params[] = { t->env.job, count };

	if (t->result == WORK_FAIL)
		return w ? jobs_fail(db, worker_outbox(w), t->env.job, "parse", t->error_code, t->error, false) : -1;
	snprintf(count, sizeof(count), "%zu", pd->board.n_shots);
	if (insert_shots(db, t->env.job, &pd->board) < 0)
		return -1;
	PGresult *r = db_exec(db, sql, 2, params);
	if (!r)
		return -1;
	long changed = db_affected(r);
	PQclear(r);
	if (changed == 0)
		return 0; /* canceled meanwhile */
	snprintf(detail, sizeof(detail), "{\"shots\":%zu}", pd->board.n_shots);
	if (jobs_event(db, worker_outbox(w), t->env.job, -1, "producing", detail) < 0)
		return -1;
	for (size_t i = 0; i < pd->board.n_shots; i++)
		worker_emit(w, t, "render", (int)i);
	log_info("storyboard of %zu shot(s) written", pd->board.n_shots);
	return 0;
}

static int fail(struct worker *w, struct task *t)
{
	return jobs_fail(worker_db(w), worker_outbox(w), t->env.job, "parse", t->error_code, t->error, false);
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
