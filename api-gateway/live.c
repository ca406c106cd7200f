/*
 * The LISTEN connection that feeds every event stream of a gateway.
 *
 * DESIGN
 * - A libpq connection of its own, watched with uv_poll on PQsocket. A
 *   readable socket means notifications: they are drained, and if one was
 *   on job_events the rows with seq above the last seen are read in one
 *   query (blocking, like every statement of ours: loopback, sub-millisecond)
 *   and dispatched to the streams of their jobs.
 * - seq comes from a sequence, so a transaction can commit after another
 *   that took a higher seq. Rows above a hole younger than HOLD_MS are held
 *   back (not handed out, the position not moved past the hole; a timer
 *   reads again when the hole is that old), so streams get rows in seq order
 *   and a resume after the last id loses nothing. A hole older than that is
 *   passed, remembered for GAP_WAIT_MS and asked for again with every later
 *   read; a row that fills it then is "late" and still reaches the streams
 *   that passed its seq. Holes of rolled-back inserts simply expire.
 * - While no stream is open and the job cache is empty the rows are not
 *   read at all (the gateway of a busy fleet would read every event for
 *   nobody); the first new stream or cache entry moves the position to the
 *   newest row (live_prepare), noting the holes just below it: rows of
 *   transactions still open then are read when they commit.
 * - Every row read drops its job's cached resource; a lost connection
 *   empties the cache, which is not used again until the connection is
 *   back and has caught up (live_following).
 * - A lost connection is retried with backoff (100 ms doubling to 5 s);
 *   once back it listens again and catches up from the last seq seen.
 */
#include "live.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "job_cache.h"
#include "log.h"
#include "monotime.h"
#include "sse.h"
#include "banned.h"

#define BATCH 1000
#define HOLD_MS 1000
#define GAP_WAIT_MS 10000
#define GAPS_MAX 256
#define RETRY_MAX_MS 5000

struct gap {
	int64_t seq;
	uint64_t since; /* loop time it was noticed */
};

struct live {
	uv_loop_t *loop;
	char *conninfo;
	struct db *db; /* NULL until the first connection succeeded */
	struct sse_hub *hub;
	struct job_cache *cache; /* dropped per job as its rows are read; NULL without one */
	uv_poll_t *poll;         /* NULL while disconnected; freed in its close callback */
	uv_timer_t retry;
	uv_timer_t hold; /* reads again when a held-back hole is HOLD_MS old */
	int open_timers; /* lv is freed when both timers are closed */
	unsigned delay_ms;
	int64_t last_seen; /* the highest seq read */
	bool synced;       /* last_seen is followed (some stream was open since it was set) */
	struct gap gaps[GAPS_MAX];
	size_t n_gaps;
	void (*on_webhooks)(void *arg);
	void *arg;
};

static const char fetch_sql[] = "SELECT seq, job_id::text, coalesce(shot, -1), kind, detail::text, "
				"to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
				"FROM job_events WHERE seq > $1 OR seq = ANY($2::bigint[]) ORDER BY seq LIMIT 1000";

static void start_poll(struct live *lv);
static void lost(struct live *lv);

static long gap_index(const struct live *lv, int64_t seq)
{
	for (size_t i = 0; i < lv->n_gaps; i++)
		if (lv->gaps[i].seq == seq)
			return (long)i;
	return -1;
}

/* Forgets a gap that seq fills; true when there was one. */
static bool fill_gap(struct live *lv, int64_t seq)
{
	long i = gap_index(lv, seq);
	if (i >= 0)
		lv->gaps[i] = lv->gaps[--lv->n_gaps];
	return i >= 0;
}

bool live_awaits(const struct live *lv, int64_t seq)
{
	return gap_index(lv, seq) >= 0;
}

/* Notes the holes in [from, to) not noted yet; the time until the youngest
 * of them is HOLD_MS old, 0 when all are older (or none is left to note). */
static uint64_t note_gaps(struct live *lv, int64_t from, int64_t to)
{
	uint64_t now = uv_now(lv->loop), wait = 0;
	for (int64_t s = from; s < to; s++) {
		long i = gap_index(lv, s);
		if (i < 0 && lv->n_gaps == GAPS_MAX)
			break;
		if (i < 0) {
			i = (long)lv->n_gaps;
			lv->gaps[lv->n_gaps++] = (struct gap){ s, now };
		}
		if (now - lv->gaps[i].since < HOLD_MS && HOLD_MS - (now - lv->gaps[i].since) > wait)
			wait = HOLD_MS - (now - lv->gaps[i].since);
	}
	return wait;
}

static void expire_gaps(struct live *lv)
{
	uint64_t now = uv_now(lv->loop);
	for (size_t i = 0; i < lv->n_gaps;)
		if (now - lv->gaps[i].since >= GAP_WAIT_MS)
			lv->gaps[i] = lv->gaps[--lv->n_gaps];
		else
			i++;
}

static char *gap_array(const struct live *lv)
{
	int64_t seqs[GAPS_MAX];
	for (size_t i = 0; i < lv->n_gaps; i++)
		seqs[i] = lv->gaps[i].seq;
	return db_int_array(seqs, lv->n_gaps);
}

/* Whether someone needs the rows: an open stream or a live cached job resource. */
static bool followed(const struct live *lv)
{
	return sse_hub_count(lv->hub) > 0 || (lv->cache && job_cache_expire(lv->cache, monotime_ms()) > 0);
}

static void on_hold_over(uv_timer_t *t);

/* Hands out row i unless a young hole below it holds it back (then true: the
 * rows after it wait too, and the hold timer is armed). */
static bool dispatch_row(struct live *lv, PGresult *r, int i)
{
	int64_t seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	bool late = seq <= lv->last_seen && fill_gap(lv, seq);
	if (seq > lv->last_seen) {
		uint64_t wait = note_gaps(lv, lv->last_seen + 1, seq);
		if (wait > 0) {
			if (!uv_is_active((uv_handle_t *)&lv->hold))
				uv_timer_start(&lv->hold, on_hold_over, wait, 0);
			return true;
		}
		fill_gap(lv, seq); /* a hole it filled while held */
		lv->last_seen = seq;
	} else if (!late) {
		return false; /* already handed out */
	}
	const struct sse_event ev = { seq,
				      PQgetvalue(r, i, 1),
				      atoi(PQgetvalue(r, i, 2)),
				      PQgetvalue(r, i, 3),
				      PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4),
				      PQgetvalue(r, i, 5) };
	sse_dispatch(lv->hub, &ev, late);
	return false;
}

/* Reads and dispatches every row after last_seen, and the gaps; -1 when the connection failed. */
static int fetch(struct live *lv)
{
	int n;
	bool held = false;
	if (!followed(lv)) {
		lv->synced = false;
		return 0;
	}
	expire_gaps(lv);
	do {
		char after[24], *gaps = gap_array(lv);
		const char *params[] = { after, gaps };
		snprintf(after, sizeof(after), "%" PRId64, lv->last_seen);
		PGresult *r = db_exec(lv->db, fetch_sql, 2, params);
		free(gaps);
		if (!r)
			return db_ok(lv->db) ? 0 : -1;
		n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			if (lv->cache) /* held rows too: the job's resource changed all the same */
				job_cache_drop(lv->cache, PQgetvalue(r, i, 1));
			held = held || dispatch_row(lv, r, i);
		}
		PQclear(r);
	} while (n == BATCH && !held && followed(lv));
	return 0;
}

void live_prepare(struct live *lv, struct db *db)
{
	/* The newest seq, and each seq of the GAPS_MAX below it that has no row
	 * (yet): one row per hole, or one with a NULL hole when there is none. */
	static const char sql[] =
		"WITH m AS (SELECT coalesce(max(seq), 0) AS m FROM job_events) "
		"SELECT m.m, h.s FROM m LEFT JOIN LATERAL (SELECT s FROM generate_series(greatest(m.m - 255, 1), m.m) s "
		"WHERE NOT EXISTS (SELECT 1 FROM job_events e WHERE e.seq = s)) h ON true";
	uint64_t now = uv_now(lv->loop);
	if (lv->synced)
		return;
	PGresult *r = db_exec(db, sql, 0, NULL);
	if (!r)
		return;
	lv->last_seen = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	lv->n_gaps = 0;
	for (int i = 0; i < PQntuples(r) && lv->n_gaps < GAPS_MAX; i++)
		if (!PQgetisnull(r, i, 1))
			lv->gaps[lv->n_gaps++] = (struct gap){ strtoll(PQgetvalue(r, i, 1), NULL, 10), now };
	lv->synced = true;
	PQclear(r);
}

/* Drains the notifications; says which channels had one. */
static void drain(PGconn *c, bool *events, bool *webhooks)
{
	PGnotify *n;
	while ((n = PQnotifies(c))) {
		if (!strcmp(n->relname, "job_events"))
			*events = true;
		else if (!strcmp(n->relname, "webhook_deliveries"))
			*webhooks = true;
		PQfreemem(n);
	}
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct live *lv = p->data;
	PGconn *c = db_conn(lv->db);
	bool ev = false, wh = false;
	(void)events;
	if (status < 0 || !PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
		lost(lv);
		return;
	}
	drain(c, &ev, &wh);
	/* Notifications that arrive during the read are for rows it may have
	 * missed: read again until none came. */
	for (int round = 0; ev && round < 8; round++) {
		ev = false;
		if (fetch(lv) < 0) {
			lost(lv);
			return;
		}
		drain(c, &ev, &wh);
	}
	if (wh && lv->on_webhooks)
		lv->on_webhooks(lv->arg);
}

static void on_hold_over(uv_timer_t *t)
{
	struct live *lv = t->data;
	if (lv->poll && fetch(lv) < 0)
		lost(lv);
}

int64_t live_horizon(const struct live *lv)
{
	return lv->last_seen;
}

static void on_poll_closed(uv_handle_t *h)
{
	free(h);
}

static void stop_poll(struct live *lv)
{
	if (!lv->poll)
		return;
	uv_close((uv_handle_t *)lv->poll, on_poll_closed);
	lv->poll = NULL;
}

static int listen_all(struct live *lv)
{
	PGresult *r = PQexec(db_conn(lv->db), "LISTEN job_events; LISTEN webhook_deliveries");
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	return ok ? 0 : -1;
}

static void start_poll(struct live *lv)
{
	lv->poll = xmalloc(sizeof(*lv->poll));
	if (uv_poll_init_socket(lv->loop, lv->poll, PQsocket(db_conn(lv->db))) < 0) {
		free(lv->poll);
		lv->poll = NULL;
		lost(lv);
		return;
	}
	lv->poll->data = lv;
	uv_poll_start(lv->poll, UV_READABLE, on_readable);
}

/* Connects (or reconnects) and listens; -1 on failure, logged. */
static int connect_listen(struct live *lv)
{
	char err[512];
	if (!lv->db && !(lv->db = db_open(lv->conninfo, err, sizeof(err))))
		return log_error("live: %s", err);
	if ((!db_ok(lv->db) && db_reconnect(lv->db) < 0) || listen_all(lv) < 0)
		return log_error("live: cannot LISTEN: %s", PQerrorMessage(db_conn(lv->db)));
	return 0;
}

static void on_retry(uv_timer_t *t)
{
	struct live *lv = t->data;
	if (connect_listen(lv) < 0) {
		lv->delay_ms = lv->delay_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : lv->delay_ms * 2;
		uv_timer_start(&lv->retry, on_retry, lv->delay_ms, 0);
		return;
	}
	log_info("live: listening again; catching up after event %" PRId64, lv->last_seen);
	lv->delay_ms = 0;
	start_poll(lv);
	if (fetch(lv) < 0)
		lost(lv);
	else if (lv->on_webhooks)
		lv->on_webhooks(lv->arg);
}

static void lost(struct live *lv)
{
	if (uv_is_active((uv_handle_t *)&lv->retry))
		return;
	stop_poll(lv);
	if (lv->cache)
		job_cache_clear(lv->cache); /* rows may pass unseen until the connection is back */
	log_warn("live: lost the LISTEN connection; reconnecting");
	lv->delay_ms = 100;
	uv_timer_start(&lv->retry, on_retry, lv->delay_ms, 0);
}

struct live *live_new(uv_loop_t *loop, const char *conninfo, struct sse_hub *hub, void (*on_webhooks)(void *arg),
		      void *arg)
{
	struct live *lv = xcalloc(1, sizeof(*lv));
	lv->loop = loop;
	lv->conninfo = xstrdup(conninfo);
	lv->hub = hub;
	lv->on_webhooks = on_webhooks;
	lv->arg = arg;
	uv_timer_init(loop, &lv->retry);
	lv->retry.data = lv;
	uv_timer_init(loop, &lv->hold);
	lv->hold.data = lv;
	lv->open_timers = 2;
	if (connect_listen(lv) == 0)
		start_poll(lv);
	else
		lost(lv);
	return lv;
}

void live_set_cache(struct live *lv, struct job_cache *cache)
{
	lv->cache = cache;
}

bool live_following(const struct live *lv)
{
	return lv->poll != NULL && lv->synced;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct live *lv = h->data;
	if (--lv->open_timers > 0)
		return;
	db_free(lv->db);
	free(lv->conninfo);
	free(lv);
}

void live_free(struct live *lv)
{
	if (!lv)
		return;
	stop_poll(lv);
	uv_close((uv_handle_t *)&lv->retry, on_timer_closed);
	uv_close((uv_handle_t *)&lv->hold, on_timer_closed);
}
