/*
 * Prometheus metrics of one daemon: counters and gauges registered by name
 * and labels, rendered as the text exposition format on /metrics. Updates
 * happen on the loop thread only.
 */
#ifndef REEL_METRICS_H
#define REEL_METRICS_H

#include <stddef.h>

struct metric; /* owned by the registry; lives until the process exits */

/* Finds or creates a counter; labels is the inside of {...} or "" (e.g. "stage=\"render\""). */
struct metric *metrics_counter(const char *name, const char *help, const char *labels);
struct metric *metrics_gauge(const char *name, const char *help, const char *labels);
void metrics_add(struct metric *m, double v);
void metrics_set(struct metric *m, double v);
/* The exposition text; the caller frees. */
char *metrics_render(void);

#endif
