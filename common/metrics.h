/*
 * Prometheus metrics of one daemon: counters, gauges and histograms
 * registered by name and labels, rendered as the text exposition format on
 * /metrics. Updates happen on the loop thread only; collectors registered
 * with metrics_on_render refresh gauges read from elsewhere just before a
 * scrape.
 */
#ifndef REEL_METRICS_H
#define REEL_METRICS_H

#include <stddef.h>

struct metric; /* owned by the registry; lives until the process exits */

/* Finds or creates a counter; labels is the inside of {...} or "" (e.g. "stage=\"render\""). */
struct metric *metrics_counter(const char *name, const char *help, const char *labels);
struct metric *metrics_gauge(const char *name, const char *help, const char *labels);
/* A histogram of durations in seconds (buckets from 5 ms to 2 min); name ends in _seconds. */
struct metric *metrics_histogram(const char *name, const char *help, const char *labels);
void metrics_add(struct metric *m, double v);
void metrics_set(struct metric *m, double v);
/* Counts v into a histogram's buckets, _sum and _count. */
void metrics_observe(struct metric *m, double v);
/* Runs fn(arg) before every render, in registration order (at most 8). */
void metrics_on_render(void (*fn)(void *arg), void *arg);
/* Writes s into out as a label value (quotes, backslashes and newlines escaped, cut to fit). */
void metrics_label_value(char *out, size_t cap, const char *s);
/* The exposition text; the caller frees. */
char *metrics_render(void);

#endif
