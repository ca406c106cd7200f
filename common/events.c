/*
 * Batched job_events inserts. Rows come back in insertion order with their
 * sequence number and time, which the reel.events messages carry.
 */
#include "events.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "json.h"
#include "outbox.h"
#include "banned.h"

struct event {
	char *job, *kind, *detail;
	int shot;
};

struct events {
	struct event *items;
	size_t n, cap;
	char *params[4]; /* the pending insert's array literals */
};

static void free_params(struct events *ev)
{
	for (int i = 0; i < 4; i++) {
		free(ev->params[i]);
		ev->params[i] = NULL;
	}
}

struct events *events_new(void)
{
	return xcalloc(1, sizeof(struct events));
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	events_discard(ev);
	free(ev->items);
	free(ev);
}

void events_add(struct events *ev, const char *job, int shot, const char *kind, const char *detail_json)
{
	if (ev->n == ev->cap) {
		ev->cap = ev->cap ? ev->cap * 2 : 64;
		ev->items = xrealloc(ev->items, ev->cap * sizeof(*ev->items));
	}
	ev->items[ev->n++] = (struct event){ xstrdup(job), xstrdup(kind), detail_json ? xstrdup(detail_json) : NULL,
					     shot };
}

void events_discard(struct events *ev)
{
	free_params(ev);
	for (size_t i = 0; i < ev->n; i++) {
		free(ev->items[i].job);
		free(ev->items[i].kind);
		free(ev->items[i].detail);
	}
	ev->n = 0;
}

char *events_row_json(int64_t seq, const char *job, int shot, const char *kind, const char *detail, const char *at)
{
	cJSON *o = cJSON_CreateObject(), *d = detail ? cJSON_Parse(detail) : NULL;
	cJSON_AddNumberToObject(o, "seq", (double)seq);
	cJSON_AddStringToObject(o, "job_id", job);
	if (shot >= 0)
		cJSON_AddNumberToObject(o, "shot", shot);
	else
		cJSON_AddNullToObject(o, "shot");
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddItemToObject(o, "detail", d ? d : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "at", at);
	char *text = json_print(o);
	cJSON_Delete(o);
	return text;
}

static void announce(struct outbox *ob, const struct event *e, const char *seq, const char *at)
{
	char *text = events_row_json(strtoll(seq, NULL, 10), e->job, e->shot, e->kind, e->detail, at);
	outbox_add_volatile(ob, "events", e->job, text);
	free(text);
}

static const char insert_sql[] =
	"INSERT INTO job_events (job_id, shot, kind, detail) "
	"SELECT j, nullif(s, -1), k, d::jsonb FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[]) "
	"WITH ORDINALITY AS u(j, s, k, d, n) ORDER BY n "
	"RETURNING seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

int events_statement(struct events *ev, struct db_stmt *stmt)
{
	const char **jobs, **kinds, **details;
	int64_t *shots;
	if (ev->n == 0)
		return 0;
	jobs = xmalloc(ev->n * sizeof(char *));
	kinds = xmalloc(ev->n * sizeof(char *));
	details = xmalloc(ev->n * sizeof(char *));
	shots = xmalloc(ev->n * sizeof(int64_t));
	for (size_t i = 0; i < ev->n; i++) {
		jobs[i] = ev->items[i].job;
		kinds[i] = ev->items[i].kind;
		details[i] = ev->items[i].detail;
		shots[i] = ev->items[i].shot;
	}
	free_params(ev);
	ev->params[0] = db_text_array(jobs, ev->n);
	ev->params[1] = db_int_array(shots, ev->n);
	ev->params[2] = db_text_array(kinds, ev->n);
	ev->params[3] = db_text_array(details, ev->n);
	*stmt = (struct db_stmt){ .sql = insert_sql, .nparams = 4 };
	for (int i = 0; i < 4; i++)
		stmt->params[i] = ev->params[i];
	free(jobs);
	free(kinds);
	free(details);
	free(shots);
	return 1;
}

void events_written(struct events *ev, PGresult *r, struct outbox *ob)
{
	for (size_t i = 0; r && ob && i < ev->n && i < (size_t)PQntuples(r); i++)
		announce(ob, &ev->items[i], PQgetvalue(r, (int)i, 0), PQgetvalue(r, (int)i, 1));
	events_discard(ev);
}
