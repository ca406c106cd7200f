/*
 * The per-user cap on unfinished jobs (inflight.c).
 */
#ifndef REEL_INFLIGHT_H
#define REEL_INFLIGHT_H

#include "http_server.h"
#include "util.h"

struct gateway;

struct billing_plan;
/* Whether owner may start another job, with queued more waiting in this
 * process's group: 0, or -1 after answering (429 at REEL_MAX_JOBS_IN_FLIGHT,
 * 403 plan-limit at plan's max_jobs_in_flight when that is lower, 503).
 * plan is NULL when billing is off. */
int inflight_check(struct http_exchange *x, struct gateway *g, const char *owner, long queued,
		   const struct billing_plan *plan) WARN_UNUSED;

#endif
