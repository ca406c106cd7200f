/*
 * DESIGN: every consumed message becomes an item that moves through phases:
 * CLAIM -> WORKING -> COMMIT or FAIL -> acknowledged. WORKING runs ops->work
 * on the thread pool, or for stages that wait on vendors ops->start on the
 * loop, which reports back through worker_task_done; either way up to the
 * stage's concurrency of them run at once while the consumer polls.
 * A transient failure is not slept on: common/retry's backoff becomes the
 * item's retry_at in the database (common/reconcile) and the message is
 * acknowledged; the stage's reconciler publishes it again when it is due, so
 * a retry survives the process. Attempts used up send the message to the
 * dead letters (common/deadletter) and the stage's ops->fail decides the job.
 * Items needing the database wait in the todo list for the batch
 * transaction (worker_batch.c), run once per loop iteration.
 * Offsets advance through struct offsets once an item's produced messages
 * were acknowledged; nothing reaches Kafka's commit that PostgreSQL lacks.
 * REEL_<STAGE>_CONCURRENCY bounds the slow work running at once; a worker
 * holds up to HOLD_EXTRA more messages being claimed, committed or
 * acknowledged, so that those batches are not capped by the work slots
 * (with instant work, the batch size is the throughput).
 */
#include "worker.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "deadletter.h"
#include "events.h"
#include "kafka.h"
#include "lag_metrics.h"
#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "offsets.h"
#include "outbox.h"
#include "reconcile.h"
#include "retry.h"
#include "str.h"
#include "worker_int.h"
#include "banned.h"

static void drain(void *arg);
static void release_slot(struct worker *w);

uv_loop_t *worker_loop(struct worker *w)
{
	return w->d.loop;
}

void *worker_config(struct worker *w)
{
	return w->spec->config;
}

void worker_set_app(struct worker *w, void *app)
{
	w->d.app = app;
}

void *worker_app(struct worker *w)
{
	return w->d.app;
}

struct db *worker_db(struct worker *w)
{
	return w->d.db;
}

struct events *worker_events(struct worker *w)
{
	return w->d.events;
}

struct storage *worker_storage(struct worker *w)
{
	return w->d.storage;
}

const struct daemon_config *worker_daemon_config(const struct worker *w)
{
	return &w->d.cfg;
}

const struct billing *worker_billing(const struct worker *w)
{
	return w->d.billing;
}

bool worker_skip_media(const struct worker *w)
{
	return w->d.cfg.skip_media;
}

static void task_id_arrays(struct task *const *tasks, size_t n, char **jobs, char **shots)
{
	const char **ids = xmalloc(n * sizeof(*ids));
	int64_t *idx = xmalloc(n * sizeof(*idx));
	for (size_t i = 0; i < n; i++) {
		ids[i] = tasks[i]->env.job;
		idx[i] = tasks[i]->env.shot;
	}
	*jobs = db_text_array(ids, n);
	if (shots)
		*shots = db_int_array(idx, n);
	free(ids);
	free(idx);
}

PGresult *worker_query_tasks(struct worker *w, const char *sql, struct task **tasks, size_t n, bool with_shots,
			     const char *const *extra, size_t n_extra)
{
	const char *params[6];
	char *ids, *idx = NULL;
	size_t k = 0;
	assert(n_extra <= 4);
	task_id_arrays(tasks, n, &ids, with_shots ? &idx : NULL);
	params[k++] = ids;
	if (with_shots)
		params[k++] = idx;
	for (size_t i = 0; i < n_extra; i++)
		params[k++] = extra[i];
	PGresult *r = db_exec(w->d.db, sql, (int)k, params);
	free(ids);
	free(idx);
	return r;
}

struct task *worker_row_task(PGresult *r, int row, struct task **tasks, size_t n)
{
	long k = atol(PQgetvalue(r, row, 0));
	assert(k >= 1 && (size_t)k <= n); /* our statements return the ordinals they were given */
	return tasks[k - 1];
}

int worker_claim_rows(struct worker *w, PGresult *r, struct task **tasks, size_t n,
		      int (*take)(struct worker *w, struct task *t, PGresult *r, int row))
{
	int rc = 0;
	if (!r)
		return -1;
	for (size_t i = 0; i < n; i++)
		tasks[i]->claim = CLAIM_DONE;
	for (int row = 0; row < PQntuples(r) && rc == 0; row++)
		rc = take(w, worker_row_task(r, row, tasks, n), r, row);
	PQclear(r);
	return rc;
}

static void on_emitted(void *arg, const char *error);

void worker_emit(struct worker *w, const struct task *t, const char *stage, int shot)
{
	struct item *it = (struct item *)t;
	struct envelope env = t->env;
	char value[256], key[96];
	env.shot = shot;
	env.attempt = 1;
	if (envelope_encode(&env, value, sizeof(value)) < 0)
		abort(); /* ids are validated and short; this cannot overflow */
	envelope_key(&env, key, sizeof(key));
	it->pending_acks++;
	outbox_add(w->d.outbox, stage, key, value, on_emitted, it);
}

void worker__enqueue(struct worker *w, struct item *it)
{
	it->next = NULL;
	*w->todo_tail = it;
	w->todo_tail = &it->next;
}

static void free_item(struct worker *w, struct item *it)
{
	*it->live_pprev = it->live_next;
	if (it->live_next)
		it->live_next->live_pprev = it->live_pprev;
	if (w->spec->ops->release)
		w->spec->ops->release(&it->t);
	free(it);
	w->in_flight--;
}

void worker__finish(struct worker *w, struct item *it)
{
	int64_t next;
	/* After the grace the consumer is gone but the producer's last flush still
	 * acknowledges: the offset is then not stored and the message comes again. */
	if (offsets_finish(w->offsets, it->partition, it->offset, &next) == 1 && w->consumer)
		kafka_consumer_store(w->consumer, it->partition, next);
	uint64_t took = monotime_ms() - it->taken_ms;
	metrics_observe(w->m_latency, (double)took / 1000.0);
	if (log__level <= LOG_DEBUG) {
		log_set_ctx(&it->log);
		log_debug("%s: handled partition %d offset %lld in %llu ms", w->spec->stage, it->partition,
			  (long long)it->offset, (unsigned long long)took);
		log_set_ctx(NULL);
	}
	free_item(w, it);
	metrics_add(w->m_done, 1);
	if (!w->d.stopping)
		drain(w); /* when stopping, on_check closes the worker once nothing is in flight */
}

static void on_emitted(void *arg, const char *error)
{
	struct item *it = arg;
	(void)error; /* an unacknowledged row stays in the outbox table; the relay owns it now */
	if (--it->pending_acks == 0 && it->phase == PH_ACKING)
		worker__finish(it->t.worker, it);
}

static void do_work(uv_work_t *req)
{
	struct item *it = req->data;
	log_set_ctx(&it->log);
	it->t.work_attempts++;
	it->t.result = WORK_OK;
	it->t.worker->spec->ops->work(&it->t);
	log_set_ctx(NULL);
}

/* Decides what follows the slow part: a retry written in the database, or the commit or
 * failure in the next batch transaction. */
void worker_task_done(struct task *t)
{
	struct item *it = (struct item *)t;
	struct worker *w = t->worker;
	release_slot(w);
	if (!w->consumer) { /* closed after the grace: nothing is committed, the message is redelivered */
		worker__enqueue(w, it);
		return;
	}
	log_set_ctx(&it->log);
	if (t->result == WORK_RETRY && retry_allowed(&w->retry_policy, t->work_attempts)) {
		uint64_t delay = retry_delay_ms(&w->retry_policy, t->work_attempts, (int64_t)t->retry_after_ms);
		log_warn("%s failed (attempt %d of %ld), retrying in %llu ms: %s", w->spec->stage, t->work_attempts,
			 w->max_attempts, (unsigned long long)delay, t->error);
		metrics_add(w->m_retried, 1);
		it->phase = PH_DEFER;
		it->defer_ms = delay;
	} else if (t->result != WORK_OK) {
		if (t->result == WORK_RETRY) {
			char why[sizeof(t->error)], code[sizeof(t->error_code)];
			/* copies: worker_task_fail writes the fields it would read */
			str_copy(why, t->error, sizeof(why));
			str_copy(code, t->error_code[0] ? t->error_code : "retries_exhausted", sizeof(code));
			worker_task_fail(t, code, "%s (gave up after %d attempts)", why, t->work_attempts);
			it->dead = true;
		}
		log_warn("%s failed: %s", w->spec->stage, t->error);
		metrics_add(w->m_failed, 1);
		it->phase = PH_FAIL;
	} else {
		it->phase = PH_COMMIT;
	}
	worker__enqueue(w, it);
	log_set_ctx(NULL);
}

static void after_work(uv_work_t *req, int status)
{
	struct item *it = req->data;
	(void)status;
	worker_task_done(&it->t);
}

void worker__dispatch(struct worker *w, struct item *it)
{
	if (w->working >= (size_t)w->concurrency) {
		it->next = NULL;
		*w->waiting_tail = it;
		w->waiting_tail = &it->next;
		return;
	}
	w->working++;
	it->phase = PH_WORKING;
	if (!w->spec->ops->start) {
		it->work_req.data = it;
		uv_queue_work(w->d.loop, &it->work_req, do_work, after_work);
		return;
	}
	log_set_ctx(&it->log);
	it->t.work_attempts++;
	it->t.result = WORK_OK;
	it->t.retry_after_ms = 0;
	w->spec->ops->start(&it->t);
	log_set_ctx(NULL);
}

/* A work slot came free: the longest-waiting item takes it. */
static void release_slot(struct worker *w)
{
	struct item *it = w->waiting;
	w->working--;
	if (!it || !w->consumer) /* a closed worker starts no more work */
		return;
	w->waiting = it->next;
	if (!w->waiting)
		w->waiting_tail = &w->waiting;
	worker__dispatch(w, it);
}

static void on_idle(uv_idle_t *h)
{
	(void)h; /* only keeps the loop from sleeping while work waits */
}

static void on_check(uv_check_t *h)
{
	struct worker *w = h->data;
	worker__batch_run(w);
	/* Not from finish(): the last item may finish inside a delivery report,
	 * and closing frees the producer that is still reporting. */
	if (w->d.stopping && w->in_flight == 0 && w->consumer) {
		w->d.on_stop(&w->d);
		return; /* the worker's handles are closing */
	}
	if (w->todo && !w->tx_blocked)
		uv_idle_start(&w->more, on_idle);
	else
		uv_idle_stop(&w->more);
}

/* A message that cannot be read is a dead letter at once (recorded on its
 * own transaction: it belongs to no batch). */
static void send_to_dlq(struct worker *w, const rd_kafka_message_t *m, const char *why)
{
	char key[256] = "";
	if (m->key_len)
		snprintf(key, sizeof(key), "%.*s", (int)m->key_len, (const char *)m->key);
	const struct deadletter dl = { w->spec->stage, key, m->payload ? m->payload : "", m->len, NULL, -1, why, 0 };
	if (deadletter_record(&w->d, &dl) < 0)
		log_error("could not record a bad message as a dead letter");
	deadletter_publish(&w->d, &dl);
}

static void accept_message(struct worker *w, rd_kafka_message_t *m)
{
	struct item *it = xcalloc(1, sizeof(*it));
	char err[256];
	it->partition = m->partition;
	it->offset = m->offset;
	it->taken_ms = monotime_ms();
	it->t.worker = w;
	it->live_next = w->live;
	it->live_pprev = &w->live;
	if (w->live)
		w->live->live_pprev = &it->live_next;
	w->live = it;
	offsets_begin(w->offsets, m->partition, m->offset);
	w->in_flight++;
	metrics_add(w->m_consumed, 1);
	if (envelope_decode(m->payload, m->len, &it->t.env, err, sizeof(err)) < 0) {
		log_warn("bad message at %s/%d@%lld sent to the dead-letter topic: %s", w->spec->stage, m->partition,
			 (long long)m->offset, err);
		send_to_dlq(w, m, err);
		it->phase = PH_ACKING;
		worker__finish(w, it);
		return;
	}
	it->log = (struct log_ctx){ it->t.env.job, it->t.env.shot, it->t.env.trace[0] ? it->t.env.trace : NULL };
	/* A retry published by the reconciler carries its attempt number. */
	it->t.work_attempts = it->t.env.attempt > 1 ? it->t.env.attempt - 1 : 0;
	it->phase = PH_CLAIM;
	worker__enqueue(w, it);
}

static void drain(void *arg)
{
	struct worker *w = arg;
	rd_kafka_message_t *msgs[TAKE_MAX];
	for (;;) {
		size_t hold = (size_t)w->concurrency + HOLD_EXTRA;
		size_t room = w->in_flight < hold ? hold - w->in_flight : 0, n;
		if (room == 0 || w->d.stopping)
			break;
		n = kafka_consumer_take(w->consumer, msgs, room < TAKE_MAX ? room : TAKE_MAX);
		for (size_t i = 0; i < n; i++) {
			accept_message(w, msgs[i]);
			rd_kafka_message_destroy(msgs[i]);
		}
		if (n < TAKE_MAX)
			break;
	}
	metrics_set(w->m_in_flight, (double)w->in_flight);
}

/* At exit, the items still held: parked, waiting, or whose vendor call ops->stop
 * canceled. Their messages were never acknowledged and are redelivered. */
static void drop_items(struct worker *w)
{
	while (w->live)
		free_item(w, w->live);
}

/* Also at the grace's end: ops->stop tells the work still running on the
 * thread pool to stop soon; the loop runs until it has returned (a queued
 * work request keeps it alive), and worker_main frees what is left after. */
static void close_worker(struct worker *w)
{
	uv_timer_stop(&w->grace_timer);
	if (w->spec->ops->stop)
		w->spec->ops->stop(w);
	reconcile_free(w->reconciler);
	w->reconciler = NULL;
	kafka_consumer_free(w->consumer);
	w->consumer = NULL;
	uv_close((uv_handle_t *)&w->check, NULL);
	uv_close((uv_handle_t *)&w->more, NULL);
	uv_close((uv_handle_t *)&w->tx_timer, NULL);
	uv_close((uv_handle_t *)&w->grace_timer, NULL);
	daemon_shutdown(&w->d);
}

static void on_grace_over(uv_timer_t *t)
{
	struct worker *w = t->data;
	log_warn("shutdown grace over with %zu message(s) unfinished; they will be redelivered", w->in_flight);
	close_worker(w);
}

static void on_stop(struct daemon *d)
{
	struct worker *w = (struct worker *)d;
	if (!w->consumer)
		return;
	if (w->in_flight == 0) {
		close_worker(w);
		return;
	}
	if (!uv_is_active((uv_handle_t *)&w->grace_timer))
		uv_timer_start(&w->grace_timer, on_grace_over, (uint64_t)d->cfg.shutdown_grace_s * 1000, 0);
}

static void define_stage_options(struct worker *w)
{
	char upper[32];
	size_t i;
	for (i = 0; w->spec->stage[i] && i < sizeof(upper) - 1; i++)
		upper[i] = (char)(w->spec->stage[i] >= 'a' && w->spec->stage[i] <= 'z' ? w->spec->stage[i] - 32
										       : w->spec->stage[i]);
	upper[i] = '\0';
	w->option_names[0] = xasprintf("REEL_%s_PROVIDER", upper);
	w->option_names[1] = xasprintf("REEL_%s_CONCURRENCY", upper);
	w->option_names[2] = xasprintf("REEL_%s_MAX_ATTEMPTS", upper);
	w->option_names[3] = xasprintf("REEL_%s_DEADLINE_S", upper);
	w->option_names[4] = xstrdup("REEL_RECONCILE_INTERVAL_MS");
	static char concurrency_default[16];
	snprintf(concurrency_default, sizeof(concurrency_default), "%ld", w->spec->default_concurrency);
	w->stage_options[0] = (struct config_option){
		w->option_names[0],      CONFIG_STRING, "offline", 0, offsetof(struct worker, provider), 0, 0,
		"provider of this stage"
	};
	w->stage_options[1] = (struct config_option){ w->option_names[1],
						      CONFIG_INT,
						      concurrency_default,
						      0,
						      offsetof(struct worker, concurrency),
						      1,
						      100000,
						      "provider calls or media work running at once per process" };
	w->stage_options[2] = (struct config_option){ w->option_names[2],
						      CONFIG_INT,
						      "5",
						      0,
						      offsetof(struct worker, max_attempts),
						      1,
						      100,
						      "attempts of a transient failure before giving up" };
	w->stage_options[3] =
		(struct config_option){ w->option_names[3],
					CONFIG_INT,
					"600",
					0,
					offsetof(struct worker, deadline_s),
					1,
					86400,
					"an item of this stage unchanged this long has its message published again" };
	w->stage_options[4] =
		(struct config_option){ w->option_names[4],
					CONFIG_INT,
					"1000",
					0,
					offsetof(struct worker, reconcile_ms),
					50,
					600000,
					"how often the reconciler looks for overdue items and due retries" };
}

static void init_metrics(struct worker *w)
{
	char labels[64];
	snprintf(labels, sizeof(labels), "stage=\"%s\"", w->spec->stage);
	w->m_consumed = metrics_counter("reel_messages_consumed_total", "Messages taken from the stage's topic",
					labels);
	w->m_done = metrics_counter("reel_messages_done_total", "Messages finished and their offsets stored", labels);
	w->m_failed = metrics_counter("reel_messages_failed_total", "Items failed for good", labels);
	w->m_retried = metrics_counter("reel_messages_retried_total", "Work retried after a transient failure", labels);
	w->m_in_flight = metrics_gauge("reel_messages_in_flight", "Messages taken and not yet finished", labels);
	w->m_latency = metrics_histogram("reel_handler_duration_seconds",
					 "From taking a message to storing its offset (claim, work, commit, acks)",
					 labels);
	lag_metrics_register(w->spec->stage, &w->consumer);
}

static void init_handles(struct worker *w)
{
	uv_check_init(w->d.loop, &w->check);
	uv_idle_init(w->d.loop, &w->more);
	uv_timer_init(w->d.loop, &w->tx_timer);
	uv_timer_init(w->d.loop, &w->grace_timer);
	w->check.data = w->tx_timer.data = w->grace_timer.data = w;
	uv_check_start(&w->check, on_check);
	w->reconciler = reconcile_new(&w->d, w->spec->stage, w->deadline_s, w->reconcile_ms);
}

static int start(struct worker *w, const struct worker_spec *spec, char *err, size_t errlen)
{
	/* The stage options go first in the daemon spec's option table so the
	 * provider is known before connecting. */
	static struct daemon_spec dspec;
	dspec = (struct daemon_spec){ .name = spec->name,
				      .default_http_addr = spec->default_http_addr,
				      .options = w->stage_options,
				      .n_options = N_STAGE_OPTIONS,
				      .config = w };
	if (daemon_start(&w->d, &dspec, err, errlen) < 0)
		return -1;
	if (spec->options && config_load(spec->options, spec->n_options, spec->config, err, errlen) < 0)
		return -1;
	if (spec->options)
		config_log(spec->options, spec->n_options, spec->config);
	if (retry_policy_init(&w->retry_policy, spec->stage, err, errlen) < 0)
		return -1;
	w->retry_policy.max_attempts = w->max_attempts;
	if (spec->ops->init && spec->ops->init(w, w->provider, err, errlen) < 0)
		return -1;
	char *topic = daemon_topic(&w->d, spec->stage), *group = xasprintf("reel-%s", spec->stage);
	const struct kafka_settings ks = { w->d.cfg.kafka_brokers, w->d.cfg.kafka_extra, w->d.cfg.fetch_wait_ms,
					   w->d.cfg.linger_ms,     w->d.cfg.session_ms,  spec->name };
	w->consumer = kafka_consumer_new(w->d.loop, &ks, group, topic, drain, w, err, errlen);
	free(topic);
	free(group);
	return w->consumer ? 0 : -1;
}

int worker_main(int argc, char **argv, const struct worker_spec *spec)
{
	static struct worker w;
	char err[1024];
	(void)argc;
	(void)argv;
	w.spec = spec;
	w.todo_tail = &w.todo;
	w.waiting_tail = &w.waiting;
	w.offsets = offsets_new();
	define_stage_options(&w);
	if (start(&w, spec, err, sizeof(err)) < 0) {
		log_error("cannot start: %s", err);
		fprintf(stderr, "%s: %s\n", spec->name, err);
		return 2;
	}
	w.d.on_stop = on_stop;
	init_metrics(&w);
	init_handles(&w);
	daemon_run(&w.d);
	drop_items(&w);
	offsets_free(w.offsets);
	if (spec->options)
		config_release(spec->options, spec->n_options, spec->config);
	daemon_release(&w.d);
	for (int i = 0; i < N_STAGE_OPTIONS; i++)
		free(w.option_names[i]);
	return 0;
}
