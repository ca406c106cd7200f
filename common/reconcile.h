/*
 * The reconciler: PostgreSQL is the truth and Kafka only carries wake-ups, so
 * every worker runs one for its own stage. On a timer it re-publishes, through
 * the outbox, the messages of items whose stage is overdue (the broker lost
 * them, or a consumer died holding them) and of items whose scheduled retry
 * (retry_at) has come. Only one process per stage scans at a time.
 */
#ifndef REEL_RECONCILE_H
#define REEL_RECONCILE_H

#include <stdint.h>

#include "util.h"

struct daemon;
struct db;
struct reconciler; /* owned by the worker; reconcile_free releases it */

/* Scans every interval_ms for the items of stage ("parse", "render", "tts",
 * "merge") unchanged for deadline_s seconds or due for a retry. d must
 * outlive the reconciler. NULL when stage is not a pipeline stage. */
struct reconciler *reconcile_new(struct daemon *d, const char *stage, long deadline_s, long interval_ms);
/* Stops the timer; the memory goes in its close callback. */
void reconcile_free(struct reconciler *r);
/* One scan now, in its own transaction: the number of messages re-published, or -1. */
int reconcile_run(struct reconciler *r) WARN_UNUSED;
/* In the caller's transaction: schedules the item's next attempt (number
 * attempt) in delay_ms by writing retry_at; the reconciler publishes it
 * then. shot is -1 for job-level stages. */
int reconcile_defer(struct db *db, const char *stage, const char *job, int shot, int attempt,
		    uint64_t delay_ms) WARN_UNUSED;

#endif
