/*
 * The gateway's live parts: the LISTEN connection, event streams, per-user
 * rate limits and the webhook sender.
 */
#ifndef REEL_LIVE_API_H
#define REEL_LIVE_API_H

#include <stddef.h>

#include "util.h"

struct gateway;

/* Starts and stops the live parts: the LISTEN connection, event streams,
 * rate limits and the webhook sender (live_api.c). */
int live_api_start(struct gateway *g) WARN_UNUSED;
void live_api_stop(struct gateway *g);
/* Part of the configure hook: decodes REEL_WEBHOOK_SECRET (or makes one). */
int live_api_webhook_configure(struct gateway *g, char *err, size_t errlen) WARN_UNUSED;

#endif
