/*
 * The per-user rate limit of a request: takes one token from the owner's
 * bucket (ratelimit.c holds the buckets, live_api.c creates and sweeps them)
 * or answers 429 with Retry-After.
 */
#include "rate_check.h"

#include <stdio.h>

#include "gateway.h"
#include "ratelimit.h"
#include "banned.h"

int rate_check(struct http_exchange *x, struct gateway *g, const char *owner)
{
	long wait;
	char retry[24], detail[160];
	if (!g->rate || ratelimit_take(g->rate, owner, uv_now(g->d->loop), &wait) == 0)
		return 0;
	snprintf(retry, sizeof(retry), "%ld", wait);
	snprintf(detail, sizeof(detail), "at most %ld requests a second (bursts of %ld) per user; retry in %ld s",
		 g->cfg.rate_per_s, g->cfg.rate_burst, wait);
	http_add_header(x, "Retry-After", retry);
	http_problem(x, 429, "rate-limited", "Too many requests", detail, NULL);
	return -1;
}
