/*
 * DESIGN: staged messages form a list owned by the outbox until COMMIT. One
 * INSERT ... unnest() writes a whole batch's rows in one round trip, and ids
 * come back in order. After COMMIT each message is produced with its own
 * delivery record; acknowledged ids collect in a list deleted inside the next
 * transaction the daemon runs anyway, or by a 20 ms timer when nothing else
 * is happening, so deletes cost no commit of their own under load. A relay
 * timer re-publishes rows that nobody is sending (left by a crash or a long
 * broker outage); consumers are idempotent, so a duplicate is harmless.
 */
#include "outbox.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "kafka.h"
#include "log.h"
#include "banned.h"

struct outbox_msg {
	struct kafka_delivery delivery; /* first, so the delivery pointer is the message */
	struct outbox *ob;
	int64_t id; /* outbox row, 0 for volatile messages */
	char *topic, *key, *value;
	outbox_done_fn done;
	void *arg;
	bool relayed;
	struct outbox_msg *next;
};

struct outbox {
	uv_loop_t *loop;
	struct db *db;
	struct kafka_producer *producer;
	char *prefix;
	struct outbox_msg *staged, **staged_tail; /* staged since the last publish */
	size_t n_durable;                         /* staged messages that need a row */
	int64_t *acked;                           /* acknowledged rows to delete */
	size_t n_acked, cap_acked;
	uv_timer_t ack_timer, relay_timer;
	unsigned relay_age_ms;
	size_t in_flight, relay_in_flight;
	char *params[4];    /* the pending insert's and delete's array literals */
	size_t n_deleting;  /* acked ids the pending delete covers */
	int handles_closed; /* of the two timers, at shutdown */
};

static void free_params(struct outbox *ob)
{
	for (size_t i = 0; i < ARRAY_SIZE(ob->params); i++) {
		free(ob->params[i]);
		ob->params[i] = NULL;
	}
	ob->n_deleting = 0;
}

static void msg_free(struct outbox_msg *m)
{
	free(m->topic);
	free(m->key);
	free(m->value);
	free(m);
}

static const char delete_sql[] = "DELETE FROM outbox WHERE id = ANY($1::bigint[])";

/* Outside a transaction, when nothing else is going to the database. */
static void delete_acked(struct outbox *ob)
{
	char *ids;
	if (!ob->n_acked)
		return;
	ids = db_int_array(ob->acked, ob->n_acked);
	const char *params[] = { ids };
	if (db_run(ob->db, delete_sql, 1, params) == 0)
		ob->n_acked = 0;
	free(ids);
}

static void on_ack_timer(uv_timer_t *t)
{
	delete_acked(t->data);
}

static void remember_ack(struct outbox *ob, int64_t id)
{
	if (ob->n_acked == ob->cap_acked) {
		ob->cap_acked = ob->cap_acked ? ob->cap_acked * 2 : 256;
		ob->acked = xrealloc(ob->acked, ob->cap_acked * sizeof(*ob->acked));
	}
	ob->acked[ob->n_acked++] = id;
	if (!uv_is_active((uv_handle_t *)&ob->ack_timer))
		uv_timer_start(&ob->ack_timer, on_ack_timer, 20, 0);
}

static void on_delivered(struct kafka_delivery *d, const char *error)
{
	struct outbox_msg *m = (struct outbox_msg *)d;
	struct outbox *ob = m->ob;
	ob->in_flight--;
	if (m->relayed)
		ob->relay_in_flight--;
	if (error)
		log_warn("outbox: message %lld to %s not acknowledged (%s); the relay will send it again",
			 (long long)m->id, m->topic, error);
	else if (m->id)
		remember_ack(ob, m->id);
	if (m->done)
		m->done(m->arg, error);
	msg_free(m);
}

struct outbox *outbox_new(uv_loop_t *loop, struct db *db, struct kafka_producer *producer, const char *prefix)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));
	ob->loop = loop;
	ob->db = db;
	ob->producer = producer;
	ob->prefix = xstrdup(prefix);
	ob->staged_tail = &ob->staged;
	uv_timer_init(loop, &ob->ack_timer);
	uv_timer_init(loop, &ob->relay_timer);
	ob->ack_timer.data = ob;
	ob->relay_timer.data = ob;
	return ob;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct outbox *ob = h->data;
	if (++ob->handles_closed == 2) {
		free(ob->acked);
		free(ob->prefix);
		free(ob);
	}
}

void outbox_free(struct outbox *ob)
{
	if (!ob)
		return;
	outbox_discard(ob);
	delete_acked(ob);
	/* Whichever timer closes last frees the outbox. */
	uv_close((uv_handle_t *)&ob->ack_timer, on_timer_closed);
	uv_close((uv_handle_t *)&ob->relay_timer, on_timer_closed);
}

static struct outbox_msg *stage(struct outbox *ob, const char *stage_name, const char *key, const char *value)
{
	struct outbox_msg *m = xcalloc(1, sizeof(*m));
	m->delivery.done = on_delivered;
	m->ob = ob;
	m->topic = xasprintf("%s%s", ob->prefix, stage_name);
	m->key = xstrdup(key);
	m->value = xstrdup(value);
	*ob->staged_tail = m;
	ob->staged_tail = &m->next;
	return m;
}

void outbox_add(struct outbox *ob, const char *stage_name, const char *key, const char *value, outbox_done_fn done,
		void *arg)
{
	struct outbox_msg *m = stage(ob, stage_name, key, value);
	m->id = -1; /* assigned by outbox_write */
	m->done = done;
	m->arg = arg;
	ob->n_durable++;
}

void outbox_add_volatile(struct outbox *ob, const char *stage_name, const char *key, const char *value)
{
	stage(ob, stage_name, key, value);
}

static const char insert_sql[] = "INSERT INTO outbox (topic, key, value) "
				 "SELECT t, k, v FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY "
				 "AS u(t, k, v, n) ORDER BY n RETURNING id";

/* The insert of the durable staged messages into stmt. */
static void insert_statement(struct outbox *ob, struct db_stmt *stmt)
{
	const char **cols[3];
	size_t n = 0;
	for (int c = 0; c < 3; c++)
		cols[c] = xmalloc(ob->n_durable * sizeof(char *));
	for (struct outbox_msg *m = ob->staged; m; m = m->next)
		if (m->id) {
			cols[0][n] = m->topic;
			cols[1][n] = m->key;
			cols[2][n++] = m->value;
		}
	*stmt = (struct db_stmt){ .sql = insert_sql, .nparams = 3 };
	for (int c = 0; c < 3; c++) {
		stmt->params[c] = ob->params[c] = db_text_array(cols[c], n);
		free(cols[c]);
	}
}

size_t outbox_statements(struct outbox *ob, struct db_stmt *stmts)
{
	size_t k = 0;
	free_params(ob);
	if (ob->n_durable)
		insert_statement(ob, &stmts[k++]);
	if (ob->n_acked) {
		ob->n_deleting = ob->n_acked;
		ob->params[3] = db_int_array(ob->acked, ob->n_acked);
		stmts[k++] = (struct db_stmt){ .sql = delete_sql, .nparams = 1, .params = { ob->params[3] } };
	}
	return k;
}

void outbox_written(struct outbox *ob, struct db_stmt *stmts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (stmts[i].sql != insert_sql)
			continue;
		int row = 0;
		for (struct outbox_msg *m = ob->staged; m && row < PQntuples(stmts[i].result); m = m->next)
			if (m->id)
				m->id = atoll(PQgetvalue(stmts[i].result, row++, 0));
	}
	/* Acks that arrived while the transaction ran stay for the next one. */
	if (ob->n_deleting) {
		memmove(ob->acked, ob->acked + ob->n_deleting, (ob->n_acked - ob->n_deleting) * sizeof(*ob->acked));
		ob->n_acked -= ob->n_deleting;
	}
	if (ob->n_acked == 0)
		uv_timer_stop(&ob->ack_timer);
	free_params(ob);
}

static void produce(struct outbox *ob, struct outbox_msg *m)
{
	ob->in_flight++;
	if (kafka_produce(ob->producer, m->topic, m->key, m->value, strlen(m->value), NULL, 0, &m->delivery) < 0)
		on_delivered(&m->delivery, "local queue full");
}

void outbox_publish(struct outbox *ob)
{
	struct outbox_msg *m = ob->staged, *next;
	ob->staged = NULL;
	ob->staged_tail = &ob->staged;
	ob->n_durable = 0;
	for (; m; m = next) {
		next = m->next;
		m->next = NULL;
		produce(ob, m);
	}
}

void outbox_discard(struct outbox *ob)
{
	free_params(ob);
	struct outbox_msg *m = ob->staged, *next;
	for (; m; m = next) {
		next = m->next;
		msg_free(m);
	}
	ob->staged = NULL;
	ob->staged_tail = &ob->staged;
	ob->n_durable = 0;
}

static void relay_rows(struct outbox *ob, PGresult *r)
{
	for (int i = 0; i < PQntuples(r); i++) {
		struct outbox_msg *m = xcalloc(1, sizeof(*m));
		m->delivery.done = on_delivered;
		m->ob = ob;
		m->id = atoll(PQgetvalue(r, i, 0));
		m->topic = xstrdup(PQgetvalue(r, i, 1));
		m->key = xstrdup(PQgetvalue(r, i, 2));
		m->value = xstrdup(PQgetvalue(r, i, 3));
		m->relayed = true;
		ob->relay_in_flight++;
		produce(ob, m);
	}
	if (PQntuples(r))
		log_info("outbox: re-published %d message(s) left unsent", PQntuples(r));
}

static void on_relay_timer(uv_timer_t *t)
{
	static const char sql[] = "SELECT id, topic, key, value FROM outbox "
				  "WHERE created_at < now() - make_interval(secs => $1::double precision / 1000) "
				  "ORDER BY id LIMIT 500";
	struct outbox *ob = t->data;
	char age[32];
	const char *params[] = { age };

	/* Our own unacknowledged messages are not orphans; wait until they settle. */
	if (ob->in_flight || !db_ok(ob->db))
		return;
	snprintf(age, sizeof(age), "%u", ob->relay_age_ms);
	PGresult *r = db_exec(ob->db, sql, 1, params);
	if (r)
		relay_rows(ob, r);
	PQclear(r);
}

void outbox_start_relay(struct outbox *ob, unsigned interval_ms, unsigned age_ms)
{
	ob->relay_age_ms = age_ms;
	uv_timer_start(&ob->relay_timer, on_relay_timer, interval_ms, interval_ms);
}

size_t outbox_in_flight(const struct outbox *ob)
{
	return ob->in_flight;
}
