/*
 * A partition's lag is read from librdkafka's cached watermarks and the
 * consumer's position (kafka_consumer_lag), so a scrape never waits on the
 * broker. A partition a rebalance took away drops to 0 here; its new owner
 * reports it.
 */
#include "lag_metrics.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kafka.h"
#include "metrics.h"
#include "str.h"
#include "util.h"
#include "banned.h"

/* Partitions whose lag is reported; topics have 12 by default. */
#define MAX_PARTITIONS 256

struct lag_metrics {
	char stage[32];
	struct kafka_consumer *const *consumer;
	struct metric *assigned;
	struct metric *lag[MAX_PARTITIONS]; /* by partition, once seen */
	bool seen[MAX_PARTITIONS];
};

static void on_partition(void *arg, int32_t partition, int64_t lag)
{
	struct lag_metrics *lm = arg;
	if (partition < 0 || partition >= MAX_PARTITIONS)
		return;
	if (!lm->lag[partition]) {
		char labels[96];
		snprintf(labels, sizeof(labels), "stage=\"%s\",partition=\"%d\"", lm->stage, partition);
		lm->lag[partition] = metrics_gauge(
			"reel_consumer_lag", "Messages waiting in an assigned partition (high watermark - position)",
			labels);
	}
	metrics_set(lm->lag[partition], (double)(lag < 0 ? 0 : lag));
	lm->seen[partition] = true;
	metrics_add(lm->assigned, 1);
}

static void collect(void *arg)
{
	struct lag_metrics *lm = arg;
	memset(lm->seen, 0, sizeof(lm->seen));
	metrics_set(lm->assigned, 0);
	if (*lm->consumer)
		kafka_consumer_lag(*lm->consumer, on_partition, lm);
	for (int p = 0; p < MAX_PARTITIONS; p++)
		if (lm->lag[p] && !lm->seen[p])
			metrics_set(lm->lag[p], 0);
}

void lag_metrics_register(const char *stage, struct kafka_consumer *const *consumer)
{
	struct lag_metrics *lm = xcalloc(1, sizeof(*lm));
	char labels[64];
	str_copy(lm->stage, stage, sizeof(lm->stage));
	lm->consumer = consumer;
	snprintf(labels, sizeof(labels), "stage=\"%s\"", stage);
	lm->assigned = metrics_gauge("reel_consumer_partitions_assigned", "Partitions this process consumes", labels);
	metrics_on_render(collect, lm);
}
