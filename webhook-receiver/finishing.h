/*
 * A vendor task being finished, shared by settle.c (the batches that look
 * tasks up and record receipts) and finish.c (download, store, advance).
 */
#ifndef REEL_FINISHING_H
#define REEL_FINISHING_H

#include <stdbool.h>

#include "receiver.h"

/* One callback or poll result on its way; owned by the chain, freed by finish__end. */
struct finishing {
	struct receiver *rc;
	char provider[16];
	char *delivery_id; /* NULL for the sweeper's polls */
	struct vendor_result res;
	bool open; /* the task is still 'submitted' */
	char job[64], trace[64], kind[8];
	int shot;
	bool more;           /* an i2v keyframe: the clip comes next */
	const char *message; /* for the failure path: what went wrong */
	const char *code;
	bool retryable;
	const char *key; /* for the success path: where the output was stored */
	finish_done_fn done;
	void *arg;
	struct finishing *next; /* in the settle queue */
};

/* Tells done how it went and frees f. */
void finish__end(struct finishing *f, int status, const char *detail);
/* An open task whose vendor succeeded: download, store, advance; ends f. */
void finish__download(struct finishing *f);
/* An open task whose vendor failed or canceled it: the failure path; ends f. */
void finish__vendor_failed(struct finishing *f);

#endif
