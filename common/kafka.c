/*
 * DESIGN: librdkafka runs its own threads; we meet it through queues. Each
 * client enables an IO event on the queue we poll (the main queue for the
 * producer's delivery reports, the consumer queue for messages), which writes
 * a byte to a pipe when the queue becomes non-empty; a uv_poll on the pipe
 * wakes the loop, which then drains the queue with zero timeouts. A timer also
 * wakes it every second: librdkafka makes a consumer that has not polled for
 * max.poll.interval.ms (5 minutes) leave its group, and an idle queue never
 * writes to the pipe. Offsets are
 * stored explicitly (enable.auto.offset.store=false) and committed by
 * librdkafka's auto-commit, so nothing is committed that was not stored.
 */
#include "kafka.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "banned.h"

#define WAKE_TICK_MS 1000

struct wakeup {
	int fds[2];
	uv_poll_t poll;
	uv_timer_t tick;
	int open_handles; /* freed when both are closed */
	void (*fn)(void *arg);
	void *arg;
};

struct kafka_producer {
	rd_kafka_t *rk;
	rd_kafka_queue_t *mainq;
	struct wakeup *wake; /* freed in its handle's close callback */
	int64_t last_ok_ms;
};

struct kafka_consumer {
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;
	struct wakeup *wake;
	char *topic;
};

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen)
{
	char why[256];
	if (rd_kafka_conf_set(conf, k, v, why, sizeof(why)) != RD_KAFKA_CONF_OK)
		return errbuf_set(err, errlen, "kafka setting %s=%s: %s", k, v, why);
	return 0;
}

/* Applies "k=v;k=v" from REEL_KAFKA_EXTRA. */
static int set_extra(rd_kafka_conf_t *conf, const char *extra, char *err, size_t errlen)
{
	char *copy, *save = NULL, *item;
	int rc = 0;
	if (!extra || !*extra)
		return 0;
	copy = xstrdup(extra);
	for (item = strtok_r(copy, ";", &save); item && rc == 0; item = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(item, '=');
		if (!eq) {
			rc = errbuf_set(err, errlen, "REEL_KAFKA_EXTRA: '%s' is not key=value", item);
			break;
		}
		*eq = '\0';
		rc = set(conf, item, eq + 1, err, errlen);
	}
	free(copy);
	return rc;
}

static rd_kafka_conf_t *base_conf(const struct kafka_settings *s, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (set(conf, "bootstrap.servers", s->brokers, err, errlen) < 0 ||
	    set(conf, "client.id", s->client_id, err, errlen) < 0 ||
	    set(conf, "socket.nagle.disable", "true", err, errlen) < 0 ||
	    set(conf, "log.connection.close", "false", err, errlen) < 0 || set_extra(conf, s->extra, err, errlen) < 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

static void on_wake_closed(uv_handle_t *h)
{
	struct wakeup *w = h->data;
	if (--w->open_handles > 0)
		return;
	close(w->fds[0]);
	close(w->fds[1]);
	free(w);
}

static void on_wake_readable(uv_poll_t *h, int status, int events)
{
	struct wakeup *w = h->data;
	char buf[64];
	(void)status;
	(void)events;
	while (read(w->fds[0], buf, sizeof(buf)) > 0)
		;
	w->fn(w->arg);
}

static void on_wake_tick(uv_timer_t *t)
{
	struct wakeup *w = t->data;
	w->fn(w->arg);
}

static struct wakeup *wakeup_new(uv_loop_t *loop, rd_kafka_queue_t *q, void (*fn)(void *), void *arg)
{
	struct wakeup *w = xcalloc(1, sizeof(*w));
	if (pipe2(w->fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		free(w);
		return NULL;
	}
	w->fn = fn;
	w->arg = arg;
	uv_poll_init(loop, &w->poll, w->fds[0]);
	w->poll.data = w;
	uv_poll_start(&w->poll, UV_READABLE, on_wake_readable);
	uv_timer_init(loop, &w->tick);
	w->tick.data = w;
	uv_timer_start(&w->tick, on_wake_tick, WAKE_TICK_MS, WAKE_TICK_MS);
	w->open_handles = 2;
	rd_kafka_queue_io_event_enable(q, w->fds[1], "1", 1);
	return w;
}

static void wakeup_free(struct wakeup *w, rd_kafka_queue_t *q)
{
	if (!w)
		return;
	rd_kafka_queue_io_event_enable(q, -1, NULL, 0);
	uv_poll_stop(&w->poll);
	uv_close((uv_handle_t *)&w->poll, on_wake_closed);
	uv_close((uv_handle_t *)&w->tick, on_wake_closed);
}

static void count_delivery(const rd_kafka_message_t *m)
{
	char labels[160], topic[128];
	metrics_label_value(topic, sizeof(topic), rd_kafka_topic_name(m->rkt));
	snprintf(labels, sizeof(labels), "topic=\"%s\"", topic);
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
		metrics_add(metrics_counter("reel_messages_produced_total",
					    "Messages the broker acknowledged, by topic", labels),
			    1);
	else
		metrics_add(metrics_counter("reel_produce_errors_total", "Messages the producer gave up on, by topic",
					    labels),
			    1);
}

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka_producer *p = opaque;
	(void)rk;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
		p->last_ok_ms = (int64_t)monotime_ms();
	count_delivery(m);
	struct kafka_delivery *d = m->_private;
	if (d)
		d->done(d, m->err ? rd_kafka_err2str(m->err) : NULL);
	else if (m->err)
		log_warn("kafka: message to %s lost: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
}

static void on_client_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)opaque;
	(void)rk;
	log_warn("kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void producer_serve(void *arg)
{
	struct kafka_producer *p = arg;
	rd_kafka_poll(p->rk, 0);
}

static void warm_metadata(rd_kafka_t *rk, const char *const *topics)
{
	for (; topics && *topics; topics++) {
		rd_kafka_topic_t *t = rd_kafka_topic_new(rk, *topics, NULL);
		const struct rd_kafka_metadata *md = NULL;
		if (rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
			rd_kafka_metadata_destroy(md);
		else
			log_warn("kafka: no metadata yet for topic %s", *topics);
		rd_kafka_topic_destroy(t);
	}
}

struct kafka_producer *kafka_producer_new(uv_loop_t *loop, const struct kafka_settings *s, const char *const *topics,
					  char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = base_conf(s, err, errlen);
	struct kafka_producer *p;
	char num[32], why[512];

	if (!conf)
		return NULL;
	snprintf(num, sizeof(num), "%ld", s->linger_ms);
	if (set(conf, "enable.idempotence", "true", err, errlen) < 0 || set(conf, "linger.ms", num, err, errlen) < 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	rd_kafka_conf_set_opaque(conf, p);
	rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
	rd_kafka_conf_set_error_cb(conf, on_client_error);
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
	if (!p->rk) {
		rd_kafka_conf_destroy(conf);
		free(p);
		errbuf_set(err, errlen, "kafka producer: %s", why);
		return NULL;
	}
	p->mainq = rd_kafka_queue_get_main(p->rk);
	p->wake = wakeup_new(loop, p->mainq, producer_serve, p);
	warm_metadata(p->rk, topics);
	p->last_ok_ms = (int64_t)monotime_ms();
	return p;
}

int kafka_produce(struct kafka_producer *p, const char *topic, const char *key, const void *value, size_t len,
		  const struct kafka_header *headers, size_t n_headers, struct kafka_delivery *d)
{
	rd_kafka_headers_t *hdrs = NULL;
	rd_kafka_resp_err_t e;
	if (n_headers) {
		hdrs = rd_kafka_headers_new(n_headers);
		for (size_t i = 0; i < n_headers; i++)
			rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value, -1);
	}
	e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
			      RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			      RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
	if (e) {
		if (hdrs)
			rd_kafka_headers_destroy(hdrs);
		return log_error("kafka: cannot produce to %s: %s", topic, rd_kafka_err2str(e));
	}
	return 0;
}

int kafka_producer_ready(struct kafka_producer *p)
{
	const struct rd_kafka_metadata *md = NULL;
	if (rd_kafka_metadata(p->rk, 0, NULL, &md, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	int ok = md->broker_cnt > 0;
	rd_kafka_metadata_destroy(md);
	return ok;
}

void kafka_producer_free(struct kafka_producer *p)
{
	if (!p)
		return;
	wakeup_free(p->wake, p->mainq);
	rd_kafka_flush(p->rk, 5000);
	rd_kafka_queue_destroy(p->mainq);
	rd_kafka_destroy(p->rk);
	free(p);
}

struct kafka_consumer *kafka_consumer_new(uv_loop_t *loop, const struct kafka_settings *s, const char *group,
					  const char *topic, void (*on_ready)(void *arg), void *arg, char *err,
					  size_t errlen)
{
	rd_kafka_conf_t *conf = base_conf(s, err, errlen);
	struct kafka_consumer *c;
	rd_kafka_topic_partition_list_t *subs;
	char why[512], wait[32];

	if (!conf)
		return NULL;
	char session[32], heartbeat[32];
	snprintf(wait, sizeof(wait), "%ld", s->fetch_wait_ms);
	snprintf(session, sizeof(session), "%ld", s->session_ms);
	snprintf(heartbeat, sizeof(heartbeat), "%ld", s->session_ms / 10);
	if (set(conf, "group.id", group, err, errlen) < 0 || set(conf, "fetch.wait.max.ms", wait, err, errlen) < 0 ||
	    set(conf, "session.timeout.ms", session, err, errlen) < 0 ||
	    set(conf, "heartbeat.interval.ms", heartbeat, err, errlen) < 0 ||
	    set(conf, "enable.auto.offset.store", "false", err, errlen) < 0 ||
	    set(conf, "enable.auto.commit", "true", err, errlen) < 0 ||
	    set(conf, "auto.commit.interval.ms", "200", err, errlen) < 0 ||
	    set(conf, "auto.offset.reset", "earliest", err, errlen) < 0 ||
	    set(conf, "fetch.error.backoff.ms", "10", err, errlen) < 0 ||
	    /* Messages are ids (~150 bytes): 512 KB of prefetch is a few
	     * thousand of them, while the 64 MB default (and librdkafka's
	     * per-message overhead) would be most of a worker's memory. */
	    set(conf, "queued.max.messages.kbytes", "512", err, errlen) < 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_error_cb(conf, on_client_error);
	c = xcalloc(1, sizeof(*c));
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
	if (!c->rk) {
		rd_kafka_conf_destroy(conf);
		free(c);
		errbuf_set(err, errlen, "kafka consumer: %s", why);
		return NULL;
	}
	rd_kafka_poll_set_consumer(c->rk);
	c->topic = xstrdup(topic);
	subs = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (e) {
		errbuf_set(err, errlen, "kafka: cannot subscribe to %s: %s", topic, rd_kafka_err2str(e));
		rd_kafka_destroy(c->rk);
		free(c->topic);
		free(c);
		return NULL;
	}
	c->queue = rd_kafka_queue_get_consumer(c->rk);
	c->wake = wakeup_new(loop, c->queue, on_ready, arg);
	return c;
}

size_t kafka_consumer_take(struct kafka_consumer *c, rd_kafka_message_t **msgs, size_t max)
{
	size_t n = 0;
	while (n < max) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 0);
		if (!m)
			break;
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				log_warn("kafka: consumer: %s", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		msgs[n++] = m;
	}
	return n;
}

void kafka_consumer_store(struct kafka_consumer *c, int32_t partition, int64_t next_offset)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, c->topic, partition)->offset = next_offset;
	rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, l);
	/* A partition revoked by a rebalance refuses the store; its new owner re-handles it. */
	if (e && e != RD_KAFKA_RESP_ERR__STATE)
		log_warn("kafka: cannot store offset %lld of partition %d: %s", (long long)next_offset, partition,
			 rd_kafka_err2str(e));
	rd_kafka_topic_partition_list_destroy(l);
}

void kafka_consumer_lag(struct kafka_consumer *c, void (*fn)(void *arg, int32_t partition, int64_t lag), void *arg)
{
	rd_kafka_topic_partition_list_t *parts = NULL;
	if (rd_kafka_assignment(c->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	rd_kafka_position(c->rk, parts);
	for (int i = 0; i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &parts->elems[i];
		int64_t lo = -1, hi = -1, lag = -1;
		rd_kafka_get_watermark_offsets(c->rk, tp->topic, tp->partition, &lo, &hi);
		if (hi >= 0 && tp->offset >= 0)
			lag = hi > tp->offset ? hi - tp->offset : 0;
		else if (hi >= 0 && lo >= 0)
			lag = hi - lo; /* nothing consumed here yet: everything retained is waiting */
		fn(arg, tp->partition, lag);
	}
	rd_kafka_topic_partition_list_destroy(parts);
}

void kafka_consumer_free(struct kafka_consumer *c)
{
	if (!c)
		return;
	wakeup_free(c->wake, c->queue);
	rd_kafka_commit(c->rk, NULL, 0);
	rd_kafka_consumer_close(c->rk);
	rd_kafka_queue_destroy(c->queue);
	rd_kafka_destroy(c->rk);
	free(c->topic);
	free(c);
}
