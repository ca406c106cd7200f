/*
 * The gateway's one LISTEN connection. job_events' trigger sends a
 * payload-less NOTIFY per inserting statement; on each, the rows after the
 * last one seen are read once and handed to the event streams of their
 * jobs. A second channel, webhook_deliveries, wakes the webhook sender.
 */
#ifndef REEL_LIVE_H
#define REEL_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct db;
struct job_cache;
struct sse_hub;
struct live; /* owned by the gateway; live_free releases it */

/* Connects a dedicated connection with conninfo and listens (retrying in
 * the background while PostgreSQL is away); rows go to hub. on_webhooks (may
 * be NULL) runs on every webhook_deliveries notification and after each
 * reconnect. */
struct live *live_new(uv_loop_t *loop, const char *conninfo, struct sse_hub *hub, void (*on_webhooks)(void *arg),
		      void *arg);
/* Closes the connection; the memory goes once libuv closed the handles. */
void live_free(struct live *lv);
/* Call before a new stream reads its catch-up rows with db: while no stream
 * was open, notifications were not followed, so the read position moves to
 * the newest row now (the new stream's own catch-up covers what came before). */
void live_prepare(struct live *lv, struct db *db);
/* The highest seq handed out to streams: rows above it come through the
 * hub, in seq order (a catch-up of a followed job reads up to it). */
int64_t live_horizon(const struct live *lv);
/* Whether seq is a hole the connection still waits for (a late row to come). */
bool live_awaits(const struct live *lv, int64_t seq);
/* Makes every row read drop its job's entry in cache (owned by the caller,
 * outliving lv), and keeps rows read while cache holds entries. */
void live_set_cache(struct live *lv, struct job_cache *cache);
/* True while every committed row reaches the connection's readers: it is up,
 * it caught up after its last reconnect, and live_prepare set its position.
 * The job cache is read and filled only then. */
bool live_following(const struct live *lv);

#endif
