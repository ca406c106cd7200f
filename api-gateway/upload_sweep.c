/*
 * Deletes uploads left pending longer than REEL_UPLOAD_PENDING_S with their
 * bytes. Any number of gateways may sweep at once: one statement deletes a
 * batch of rows claimed with FOR UPDATE SKIP LOCKED, so each row goes to one
 * gateway, which then deletes its objects off the loop. A row whose object
 * delete fails is gone all the same (the failure is logged): an orphaned
 * object is cheaper than a row retried forever.
 */
#include "uploads.h"

#include <stdio.h>

#include "db.h"
#include "gateway.h"
#include "log.h"
#include "banned.h"

#define SWEEP_BATCH "100"
#define SWEEP_MAX_MS (5 * 60 * 1000)

static void on_sweep(uv_timer_t *t)
{
	static const char sql[] = "DELETE FROM uploads WHERE id IN (SELECT id FROM uploads WHERE status = 'pending' "
				  "AND created_at < now() - $1::bigint * interval '1 second' ORDER BY created_at "
				  "LIMIT " SWEEP_BATCH " FOR UPDATE SKIP LOCKED) RETURNING id";
	struct gateway *g = t->data;
	char age[24];
	snprintf(age, sizeof(age), "%ld", g->cfg.upload_pending_s);
	const char *params[] = { age };
	if (!db_ok(g->d->db))
		return; /* the reconnect will bring it back; the next tick sweeps */
	PGresult *r = db_exec(g->d->db, sql, 1, params);
	if (!r) {
		daemon_db_lost(g->d);
		return;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		log_info("upload %s: never completed, deleted", PQgetvalue(r, i, 0));
		uploads__drop_object(g->d, PQgetvalue(r, i, 0));
	}
	PQclear(r);
}

void upload_sweep_start(struct gateway *g)
{
	/* A quarter of the allowed age, so a stale upload lives at most 25% longer. */
	uint64_t every = (uint64_t)g->cfg.upload_pending_s * 250;
	if (every > SWEEP_MAX_MS)
		every = SWEEP_MAX_MS;
	uv_timer_init(g->d->loop, &g->upload_sweep);
	g->upload_sweep.data = g;
	uv_timer_start(&g->upload_sweep, on_sweep, every, every);
}

void upload_sweep_stop(struct gateway *g)
{
	uv_close((uv_handle_t *)&g->upload_sweep, NULL);
}
