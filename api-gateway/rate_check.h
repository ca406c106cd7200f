/*
 * The per-user rate limit of a request (rate_check.c).
 */
#ifndef REEL_RATE_CHECK_H
#define REEL_RATE_CHECK_H

#include "http_server.h"
#include "util.h"

struct gateway;

/* Takes one request of owner from its rate limit: 0, or -1 after answering 429. */
int rate_check(struct http_exchange *x, struct gateway *g, const char *owner) WARN_UNUSED;

#endif
