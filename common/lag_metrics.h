/*
 * Consumer lag as Prometheus gauges: before every scrape, the lag of each
 * partition the stage's consumer holds (reel_consumer_lag{stage,partition})
 * and how many it holds (reel_consumer_partitions_assigned{stage}).
 */
#ifndef REEL_LAG_METRICS_H
#define REEL_LAG_METRICS_H

struct kafka_consumer;

/* Registers the gauges and their collector for stage; *consumer is read at
 * every scrape (NULL once the consumer is gone). Lives until the process exits. */
void lag_metrics_register(const char *stage, struct kafka_consumer *const *consumer);

#endif
