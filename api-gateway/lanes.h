/*
 * Commit lanes: a few PostgreSQL connections of their own on which the
 * gateway commits groups of job creates off the loop, so that several groups
 * are in flight at once while the loop keeps reading requests.
 */
#ifndef REEL_LANES_H
#define REEL_LANES_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct daemon;
struct db;
struct events;
struct outbox;
struct lanes; /* owned by the gateway; lanes_free releases it once idle */

/* One lane: its connection and the events and outbox rows its next
 * transaction writes. The caller stages into events and outbox on the loop
 * before lanes_run; nothing else touches them while the lane is busy. */
struct lane {
	struct events *events;
	struct outbox *outbox;
};

/* The transaction's body, run on a thread-pool thread between BEGIN and the
 * staged rows plus COMMIT: 0, or -1 to roll back. It may use db and its own
 * arg only. */
typedef int (*lanes_work_fn)(struct db *db, void *arg);
/* Back on the loop after COMMIT and the outbox publish (ok true), or after
 * the rollback (ok false). */
typedef void (*lanes_done_fn)(void *arg, bool ok);

/* n lanes connecting to d's database on first use (a lane that loses its
 * connection reconnects on its next transaction). */
struct lanes *lanes_new(struct daemon *d, size_t n);
/* Closes the connections; only while lanes_idle. */
void lanes_free(struct lanes *ls);
/* A lane free for a transaction, or NULL while every lane is busy. */
struct lane *lanes_take(struct lanes *ls);
/* Runs work in a transaction on l (from lanes_take), then done. */
void lanes_run(struct lanes *ls, struct lane *l, lanes_work_fn work, lanes_done_fn done, void *arg);
/* True when no transaction is in flight. */
bool lanes_idle(const struct lanes *ls);

#endif
