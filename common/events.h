/*
 * The job event log: every status change of a job or shot is a job_events
 * row (dashboards and SSE clients read them) and a reel.events message.
 * Events of one transaction are collected and written with one statement.
 */
#ifndef REEL_EVENTS_H
#define REEL_EVENTS_H

#include <stddef.h>

#include "util.h"

struct db;
struct outbox;
struct events; /* owned by the daemon; events_free releases it */

struct events *events_new(void);
void events_free(struct events *ev);
/* Adds an event to the open transaction's batch; shot -1 for the job itself,
 * detail_json may be NULL. The strings are copied. */
void events_add(struct events *ev, const char *job, int shot, const char *kind, const char *detail_json);
/* Inside the transaction: inserts the batch and stages its reel.events messages. */
int events_write(struct events *ev, struct db *db, struct outbox *ob) WARN_UNUSED;
/* After ROLLBACK: forgets the batch. */
void events_discard(struct events *ev);

#endif
