/*
 * Retention: a sweeper deleting finished jobs' media after
 * REEL_RETENTION_DAYS, and their shots' pictures, clips and audio after
 * REEL_RETENTION_INTERMEDIATE_DAYS. Any number of gateways may run it at once.
 */
#ifndef REEL_RETENTION_H
#define REEL_RETENTION_H

struct gateway;
struct retention; /* owned by the gateway; retention_stop frees it */

/* Starts sweeping every REEL_RETENTION_SWEEP_S when a retention is set; NULL when none is. */
struct retention *retention_start(struct gateway *g);
/* Stops the timer; a sweep in flight finishes first, then everything is freed. r may be NULL. */
void retention_stop(struct retention *r);

#endif
