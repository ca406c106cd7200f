/*
 * The job event log: every status change of a job or shot is a job_events
 * row (dashboards and SSE clients read them) and a reel.events message.
 * Events of one transaction are collected and written with one statement.
 */
#ifndef REEL_EVENTS_H
#define REEL_EVENTS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct db;
struct outbox;
struct events; /* owned by the daemon; events_free releases it */

struct events *events_new(void);
void events_free(struct events *ev);
/* Adds an event to the open transaction's batch; shot -1 for the job itself,
 * detail_json may be NULL. The strings are copied. */
void events_add(struct events *ev, const char *job, int shot, const char *kind, const char *detail_json);
struct db_stmt;
/* The statement that inserts the batch, for the transaction's pipelined
 * tail; 0 when there is nothing to write. ev keeps its parameters alive
 * until events_written or events_discard. */
int events_statement(struct events *ev, struct db_stmt *stmt);
/* After COMMIT, with the statement's result: stages the reel.events messages
 * and clears the batch. */
void events_written(struct events *ev, PGresult *r, struct outbox *ob);
/* A job_events row as the JSON that reel.events messages and event streams
 * carry: {"seq","job_id","shot" (null for the job),"kind","detail","at"}.
 * detail is JSON text or NULL. The caller frees. */
char *events_row_json(int64_t seq, const char *job, int shot, const char *kind, const char *detail, const char *at);
/* After ROLLBACK: forgets the batch. */
void events_discard(struct events *ev);

#endif
