/*
 * The per-user cap on unfinished jobs (inflight.c).
 */
#ifndef REEL_INFLIGHT_H
#define REEL_INFLIGHT_H

#include "http_server.h"
#include "util.h"

struct gateway;

/* Whether owner may start another job, with queued more waiting in this
 * process's group: 0, or -1 after answering (429 at the cap, 503). */
int inflight_check(struct http_exchange *x, struct gateway *g, const char *owner, long queued) WARN_UNUSED;

#endif
