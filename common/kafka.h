/*
 * Kafka clients on the daemon's libuv loop. The producer is idempotent and
 * reports each delivery back on the loop; the consumer joins a group, hands
 * messages over without blocking, and commits only offsets the caller stored
 * once its work was done. Both wake the loop through librdkafka's queue IO
 * events, so no thread of ours ever waits on the broker.
 */
#ifndef REEL_KAFKA_H
#define REEL_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

struct kafka_settings {
	const char *brokers;   /* bootstrap list, host:port[,host:port] */
	const char *extra;     /* "key=value;key=value" passed to librdkafka as is (SASL, TLS...), or NULL */
	long fetch_wait_ms;    /* fetch.wait.max.ms: the hop latency floor on the dev broker */
	long linger_ms;        /* producer linger.ms: 0 sends at once */
	long session_ms;       /* consumer session.timeout.ms (heartbeats at a tenth of it) */
	const char *client_id; /* shown in broker logs */
};

struct kafka_header {
	const char *name;
	const char *value;
};

/* Embedded in whatever tracks a produced message; done runs on the loop once
 * the broker acknowledged it (error NULL) or gave up on it. */
struct kafka_delivery {
	void (*done)(struct kafka_delivery *d, const char *error);
};

struct kafka_producer; /* owned by its creator; kafka_producer_free releases it */
struct kafka_consumer; /* owned by its creator; kafka_consumer_free releases it */

/* Creates a producer and fetches metadata for topics (NULL-terminated) up
 * front, so the first messages are not held back waiting for it. */
struct kafka_producer *kafka_producer_new(uv_loop_t *loop, const struct kafka_settings *s, const char *const *topics,
					  char *err, size_t errlen);
/* Queues a message (key and value are copied); d, when not NULL, hears how it
 * went and must live until then. -1 when the local queue is full. */
int kafka_produce(struct kafka_producer *p, const char *topic, const char *key, const void *value, size_t len,
		  const struct kafka_header *headers, size_t n_headers, struct kafka_delivery *d) WARN_UNUSED;
void kafka_producer_free(struct kafka_producer *p);

/* Joins group and subscribes to topic; on_ready runs on the loop whenever
 * messages may be waiting (call kafka_consumer_take until it returns 0). */
struct kafka_consumer *kafka_consumer_new(uv_loop_t *loop, const struct kafka_settings *s, const char *group,
					  const char *topic, void (*on_ready)(void *arg), void *arg, char *err,
					  size_t errlen);
/* Takes up to max messages without blocking; the caller destroys each with
 * rd_kafka_message_destroy. Errors from the broker are logged, not returned. */
size_t kafka_consumer_take(struct kafka_consumer *c, rd_kafka_message_t **msgs, size_t max);
/* Records that everything before next_offset in partition is done; it is committed shortly. */
void kafka_consumer_store(struct kafka_consumer *c, int32_t partition, int64_t next_offset);
/* Calls fn for each partition assigned to this consumer with its lag: the
 * high watermark librdkafka last saw minus the consumer's position (-1 when
 * not known yet). Non-blocking: reads librdkafka's cached values. */
void kafka_consumer_lag(struct kafka_consumer *c, void (*fn)(void *arg, int32_t partition, int64_t lag), void *arg);
/* Commits stored offsets, leaves the group and frees. */
void kafka_consumer_free(struct kafka_consumer *c);

/* True when a broker answered recently (for /readyz). */
int kafka_producer_ready(struct kafka_producer *p);

#endif
