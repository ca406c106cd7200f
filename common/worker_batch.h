/*
 * The worker loop's batch transaction: the items waiting for the database
 * are claimed, committed, deferred or failed in one PostgreSQL transaction.
 */
#ifndef REEL_WORKER_BATCH_H
#define REEL_WORKER_BATCH_H

struct worker;

/* Runs one transaction over up to TX_MAX items of w's todo list (each item
 * alone when the batch fails on a statement); waits for the reconnect when
 * the database is gone. Called once per loop iteration. */
void worker_batch_run(struct worker *w);

#endif
