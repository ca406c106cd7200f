/*
 * DESIGN: items needing the database wait in the todo list; the worker's
 * uv_check handle, which runs once per loop iteration after I/O, takes up to
 * TX_MAX of them into one transaction, so a busy worker pays one commit for
 * many messages and an idle one adds no delay. If the batch transaction fails
 * on a statement, each item is retried alone so one bad item cannot block the
 * rest; if the connection is lost, the list waits for the reconnect. Phase
 * changes are applied only after COMMIT, so a rollback leaves every item as it was.
 */

#include "worker_int.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "deadletter.h"
#include "outbox.h"
#include "reconcile.h"
#include "banned.h"

/* Items per transaction: a larger batch saves little and holds more memory. */
#define TX_MAX 128

/* The dead letter of an item whose attempts are used up: its message as consumed. */
static void item_letter(const struct item *it, struct deadletter *dl, char *key, size_t keylen, char *value,
			size_t valuelen)
{
	struct envelope env = it->t.env;
	const struct worker *w = it->t.worker;
	env.attempt = it->t.work_attempts;
	if (envelope_encode(&env, value, valuelen) < 0)
		abort(); /* ids are validated and short; this cannot overflow */
	envelope_key(&env, key, keylen);
	/* The ids point into the item, which outlives the letter; env is gone on return. */
	*dl = (struct deadletter){ w->spec->stage, key,
				   value,          strlen(value),
				   it->t.env.job,  it->t.env.shot,
				   it->t.error,    it->t.work_attempts };
}

/* In the open transaction: a retry written as the item's retry_at, or a
 * failure (with its dead letter when the attempts are used up). */
static int settle(struct worker *w, struct item *it)
{
	struct deadletter dl;
	char key[96], value[256];
	if (it->phase == PH_DEFER && w->spec->ops->defer && w->spec->ops->defer(w, &it->t) < 0)
		return -1;
	if (it->phase == PH_DEFER)
		return reconcile_defer(w->d.db, w->spec->stage, it->t.env.job, it->t.env.shot, it->t.work_attempts + 1,
				       it->defer_ms);
	if (it->phase != PH_FAIL)
		return 0;
	worker_task_log(&it->t);
	if (it->dead) {
		item_letter(it, &dl, key, sizeof(key), value, sizeof(value));
		if (deadletter_record(&w->d, &dl) < 0)
			return -1;
	}
	return w->spec->ops->fail(w, &it->t);
}

/* Runs the claims, commits and failures of items inside the open
 * transaction, each kind as one batch call; -1 aborts the transaction. */
static int run_steps(struct worker *w, struct item **items, size_t n)
{
	const struct stage_ops *ops = w->spec->ops;
	struct task **claims = xmalloc(n * sizeof(*claims)), **commits = xmalloc(n * sizeof(*commits));
	size_t n_claims = 0, n_commits = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct item *it = items[i];
		it->pending_acks = 0;
		it->action = ACT_ACK;
		if (it->phase == PH_CLAIM)
			claims[n_claims++] = &it->t;
		else if (it->phase == PH_COMMIT)
			commits[n_commits++] = &it->t;
	}
	if (n_claims && ops->claim(w, claims, n_claims) < 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n_claims; i++) {
		struct item *it = (struct item *)claims[i];
		if (it->t.result == WORK_FAIL)
			it->phase = PH_FAIL; /* reverted below if the transaction fails */
		else if (it->t.claim == CLAIM_WORK)
			it->action = ACT_DISPATCH;
		else if (it->t.claim == CLAIM_READY)
			commits[n_commits++] = &it->t;
	}
	if (rc == 0 && n_commits && ops->commit(w, commits, n_commits) < 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = settle(w, items[i]);
	log_set_ctx(NULL);
	free(claims);
	free(commits);
	return rc;
}

static void publish_letter(struct worker *w, struct item *it)
{
	struct deadletter dl;
	char key[96], value[256];
	item_letter(it, &dl, key, sizeof(key), value, sizeof(value));
	deadletter_publish(&w->d, &dl);
	it->dead = false;
}

static void apply_after_commit(struct worker *w, struct item **items, size_t n)
{
	/* Items with nothing to wait for finish before publishing, so that a
	 * synchronous delivery failure inside outbox_publish never meets an item
	 * freed twice. */
	for (size_t i = 0; i < n; i++) {
		struct item *it = items[i];
		if (it->action == ACT_DISPATCH) {
			worker__dispatch(w, it);
			items[i] = NULL;
		} else {
			if (it->dead)
				publish_letter(w, it);
			it->phase = PH_ACKING;
			if (it->pending_acks == 0) {
				worker__finish(w, it);
				items[i] = NULL;
			}
		}
	}
	outbox_publish(w->d.outbox);
}

static void on_tx_timer(uv_timer_t *t)
{
	struct worker *w = t->data;
	w->tx_blocked = false;
	worker__batch_run(w);
}

static void block_until_reconnected(struct worker *w)
{
	w->tx_blocked = true;
	daemon_db_lost(&w->d);
	uv_timer_start(&w->tx_timer, on_tx_timer, 250, 0);
}

/* One transaction over items; 0 when committed, -1 (rolled back) otherwise. */
static int transact(struct worker *w, struct item **items, size_t n)
{
	enum phase *before = xmalloc(n * sizeof(*before));
	int rc = -1;
	for (size_t i = 0; i < n; i++)
		before[i] = items[i]->phase;
	if (db_begin(w->d.db) == 0) {
		if (run_steps(w, items, n) < 0)
			daemon_rollback(&w->d);
		else if (daemon_commit(&w->d) == 0)
			rc = 0;
	}
	if (rc == 0)
		apply_after_commit(w, items, n);
	if (rc < 0)
		for (size_t i = 0; i < n; i++)
			items[i]->phase = before[i];
	free(before);
	return rc;
}

/* A lone item whose transaction fails on a statement is failed for good. */
static void give_up_on(struct worker *w, struct item *it)
{
	struct item *one[] = { it };
	log_set_ctx(&it->log);
	if (it->phase != PH_FAIL) {
		worker_task_fail(&it->t, "internal", "an internal error stopped this step: %s", db_last_error(w->d.db));
		it->phase = PH_FAIL;
		if (transact(w, one, 1) == 0)
			return;
	}
	log_error("could not record the failure; the message is dropped: %s", db_last_error(w->d.db));
	it->phase = PH_ACKING;
	worker__finish(w, it);
}

void worker__batch_run(struct worker *w)
{
	struct item **items, *it;
	size_t n = 0;

	if (!w->todo || w->tx_blocked)
		return;
	if (!db_ok(w->d.db))
		return block_until_reconnected(w);
	items = xmalloc(TX_MAX * sizeof(*items));
	for (it = w->todo; it && n < TX_MAX; it = it->next)
		items[n++] = it;
	w->todo = it;
	if (!it)
		w->todo_tail = &w->todo;

	if (transact(w, items, n) < 0) {
		if (db_last_error_is_connection(w->d.db) || !db_ok(w->d.db)) {
			for (size_t i = 0; i < n; i++)
				worker__enqueue(w, items[i]);
			block_until_reconnected(w);
		} else {
			for (size_t i = 0; i < n; i++) {
				struct item *one[] = { items[i] };
				if (n == 1 || transact(w, one, 1) < 0)
					give_up_on(w, items[i]);
			}
		}
	}
	free(items);
}
