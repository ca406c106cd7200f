/*
 * provider_calls rows from the usage records of a batch: one INSERT over
 * unnest()ed arrays, whatever the number of calls, so recording usage adds
 * one statement to a stage's transaction.
 */
#include "provider_calls.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "banned.h"

enum { N_TEXT = 6, N_INT = 7 };

void provider_calls_error(struct provider_call *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
}

/* Column-wise copies of the records: texts, integers and costs as the
 * statement's array parameters want them. */
static void columns(const struct provider_call *const *calls, size_t n, const char **text[N_TEXT], int64_t *num[N_INT],
		    char **cost)
{
	for (size_t k = 0; k < n; k++) {
		const struct provider_call *c = calls[k];
		text[0][k] = c->job;
		text[1][k] = c->provider;
		text[2][k] = c->model;
		text[3][k] = c->purpose;
		text[4][k] = c->outcome;
		text[5][k] = c->error[0] ? c->error : NULL;
		num[0][k] = c->shot;
		num[1][k] = c->attempt;
		num[2][k] = c->http_status;
		num[3][k] = c->tokens_in;
		num[4][k] = c->tokens_out;
		num[5][k] = c->characters;
		num[6][k] = c->latency_ms;
		cost[k] = xasprintf("%.8f", c->cost_usd);
	}
}

int provider_calls_insert(struct db *db, const char *stage, const struct provider_call *const *calls, size_t n)
{
	static const char sql[] =
		"INSERT INTO provider_calls (job_id, stage, provider, model, purpose, outcome, error, shot, attempt, "
		"http_status, tokens_in, tokens_out, characters, latency_ms, cost_usd) "
		"SELECT u.j, $1, u.p, u.m, u.pu, u.o, u.e, nullif(u.sh, -1), u.a, nullif(u.s, 0), u.ti, u.tout, u.ch, "
		"u.l, u.c FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
		"$8::int[], $9::int[], $10::int[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], "
		"$15::numeric[]) AS u(j, p, m, pu, o, e, sh, a, s, ti, tout, ch, l, c)";
	const char **text[N_TEXT];
	int64_t *num[N_INT];
	char *a[15];
	if (n == 0)
		return 0;
	char **cost = xmalloc(n * sizeof(*cost));
	for (int i = 0; i < N_TEXT; i++)
		text[i] = xmalloc(n * sizeof(char *));
	for (int i = 0; i < N_INT; i++)
		num[i] = xmalloc(n * sizeof(int64_t));
	columns(calls, n, text, num, cost);
	a[0] = xstrdup(stage);
	for (int i = 0; i < N_TEXT; i++)
		a[1 + i] = db_text_array(text[i], n);
	for (int i = 0; i < N_INT; i++)
		a[1 + N_TEXT + i] = db_int_array(num[i], n);
	a[14] = db_text_array((const char *const *)cost, n);
	int rc = db_run(db, sql, 15, (const char *const *)a);
	for (int i = 0; i < 15; i++)
		free(a[i]);
	for (size_t k = 0; k < n; k++)
		free(cost[k]);
	free(cost);
	for (int i = 0; i < N_TEXT; i++)
		free(text[i]);
	for (int i = 0; i < N_INT; i++)
		free(num[i]);
	return rc;
}
