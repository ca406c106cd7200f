/*
 * The gateway's live parts: the LISTEN connection, event streams, per-user
 * rate limits and in-flight caps, and the webhook sender.
 */
#ifndef REEL_LIVE_API_H
#define REEL_LIVE_API_H

#include <stddef.h>

#include "http_server.h"
#include "util.h"

struct gateway;

/* Starts and stops the live parts: the LISTEN connection, event streams,
 * rate limits and the webhook sender (live_api.c). */
int gateway_live_start(struct gateway *g) WARN_UNUSED;
void gateway_live_stop(struct gateway *g);
/* Part of the configure hook: decodes REEL_WEBHOOK_SECRET (or makes one). */
int gateway_webhook_configure(struct gateway *g, char *err, size_t errlen) WARN_UNUSED;
/* Takes one request of owner from its rate limit: 0, or -1 after answering 429. */
int gateway_rate_check(struct http_exchange *x, struct gateway *g, const char *owner) WARN_UNUSED;
/* Whether owner may start another job, with queued more waiting in this
 * process's group: 0, or -1 after answering (429 at the cap, 503). */
int gateway_inflight_check(struct http_exchange *x, struct gateway *g, const char *owner, long queued) WARN_UNUSED;

#endif
