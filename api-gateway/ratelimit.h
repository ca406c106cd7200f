/*
 * Per-user token buckets: each user may make `rate` requests a second on
 * average and up to `burst` at once. Pure logic over a clock the caller
 * passes in, so tests drive time by hand.
 */
#ifndef REEL_RATELIMIT_H
#define REEL_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct ratelimit; /* owned by its creator; ratelimit_free releases it */

/* Buckets refilling at rate tokens per second up to burst (both > 0). */
struct ratelimit *ratelimit_new(double rate, double burst);
void ratelimit_free(struct ratelimit *rl);
/* Takes a token of key at now_ms: 0, or -1 with the whole seconds to wait
 * until one is there in *retry_after_s (at least 1). */
int ratelimit_take(struct ratelimit *rl, const char *key, uint64_t now_ms, long *retry_after_s) WARN_UNUSED;
/* Forgets buckets that have refilled completely (they behave as new ones). */
void ratelimit_sweep(struct ratelimit *rl, uint64_t now_ms);
/* Buckets held now. */
size_t ratelimit_size(const struct ratelimit *rl);

#endif
