/*
 * Settling tasks in batches (settle.c): the vendors' callbacks and the
 * sweeper's polls hand their results here.
 */
#ifndef REEL_SETTLE_H
#define REEL_SETTLE_H

#include "receiver.h"

/* Finishes the task res is about (provider's external id res->id): nothing
 * when it is no longer open; the failure path (retry or pause) when the vendor
 * failed; else the first output downloaded, checked, stored and the shot
 * advanced. delivery_id (or NULL for a poll) is recorded in webhook_receipts
 * in the same transaction (a delivery seen before ends with status 200 and
 * detail "replayed"). res is taken over. done runs once, later. */
void settle_task(struct receiver *rc, const char *provider, const char *delivery_id, struct vendor_result *res,
		 finish_done_fn done, void *arg);
/* Starts and stops the batches settle_task queues into. */
void settle_start(struct receiver *rc);
void settle_stop(struct receiver *rc);

#endif
