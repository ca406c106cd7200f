/*
 * Watching running encodes from the loop: progress that moved becomes a
 * job_events row at most twice a second ('progress', {"stage":"merge","percent":N})
 * and jobs that left 'merging' (canceled, failed) get their encode stopped,
 * as every encode is when the worker shuts down.
 */
#ifndef REEL_MERGE_WATCH_H
#define REEL_MERGE_WATCH_H

#include <stdatomic.h>
#include <stdbool.h>

struct worker;

/* One running encode; embedded in the merge task's data, which owns it. */
struct merge_watch_item {
	char job[40];
	atomic_int permille;      /* written by the encoding thread */
	atomic_int cancel;        /* set here, read by the encoder per frame: 1 or MERGE_WATCH_SHUTDOWN */
	int reported;             /* last percent written, -1 for none */
	atomic_ullong written_ms; /* when it was written (now_ms), 0 for never */
	struct merge_watch_item *next;
};

/* The cancel value of an encode stopped by the worker's shutdown (1: the job left merging). */
#define MERGE_WATCH_SHUTDOWN 2

/* Starts the timer on the worker's loop; it never keeps the loop alive. */
void merge_watch_start(struct worker *w);
/* At shutdown (on the loop thread): tells every watched encode to stop and closes the timer. */
void merge_watch_stop(void);
/* Watches or stops watching it (on the loop thread). */
void merge_watch_add(struct merge_watch_item *it, const char *job);
void merge_watch_remove(struct merge_watch_item *it);
/* The encoder's progress callback: arg is the item, fraction 0..1. */
void merge_watch_progress(void *arg, double fraction);
/* On the work thread once the encode is over: waits until the last progress
 * row is half a second old, so the final one the commit adds keeps the rate. */
void merge_watch_settle(struct merge_watch_item *it);
/* True when the last progress row written said 100 (on the loop thread). */
bool merge_watch_finished(const struct merge_watch_item *it);

#endif
