/*
 * The transactional outbox. A stage stages the messages that announce its
 * state change; outbox_write inserts them in the caller's transaction, and
 * after COMMIT outbox_publish hands them to Kafka. Acknowledged rows are
 * deleted in the next transaction (or by a short timer when idle), and a
 * relay re-publishes rows left behind by a crash.
 */
#ifndef REEL_OUTBOX_H
#define REEL_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

struct db;
struct kafka_producer;
struct outbox; /* owned by the daemon; outbox_free releases it */

/* Hears, on the loop, that a staged message was acknowledged (error NULL) or not. */
typedef void (*outbox_done_fn)(void *arg, const char *error);

/* db and producer must outlive the outbox; prefix is the topic prefix ("reel."). */
struct outbox *outbox_new(uv_loop_t *loop, struct db *db, struct kafka_producer *producer, const char *prefix);
void outbox_free(struct outbox *ob);
/* Stages a durable message for topic prefix+stage. done may be NULL. */
void outbox_add(struct outbox *ob, const char *stage, const char *key, const char *value, outbox_done_fn done,
		void *arg);
/* Stages a best-effort message (no table row): sent after COMMIT, lost with a crash.
 * For reel.events, whose truth is the job_events table. */
void outbox_add_volatile(struct outbox *ob, const char *stage, const char *key, const char *value);
struct db_stmt;
/* The statements that write the staged rows and delete acknowledged ones,
 * for the transaction's pipelined tail: fills up to two of stmts and says
 * how many. The outbox keeps their parameters until outbox_written or
 * outbox_discard. */
size_t outbox_statements(struct outbox *ob, struct db_stmt *stmts);
/* After COMMIT, with the statements' results: notes the new rows' ids and
 * forgets the deleted ones. Then outbox_publish sends the messages. */
void outbox_written(struct outbox *ob, struct db_stmt *stmts, size_t n);
/* After COMMIT: produces everything written. */
void outbox_publish(struct outbox *ob);
/* After ROLLBACK: drops what was staged since the last publish (callbacks are not run). */
void outbox_discard(struct outbox *ob);
/* Starts re-publishing rows older than age_ms every interval_ms. */
void outbox_start_relay(struct outbox *ob, unsigned interval_ms, unsigned age_ms);
/* Rows handed to Kafka and not yet acknowledged. */
size_t outbox_in_flight(const struct outbox *ob);

#endif
