/*
 * The one retry policy of reelforge: exponential backoff with full jitter
 * (a random wait between zero and base * 2^attempt, capped), a bounded number
 * of attempts per stage (REEL_<STAGE>_MAX_ATTEMPTS), and a vendor's
 * Retry-After honoured when it asks for a longer wait.
 */
#ifndef REEL_RETRY_H
#define REEL_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

struct retry_policy {
	long max_attempts;     /* attempts in all, >= 1 */
	uint64_t base_ms;      /* the backoff ceiling before the first retry */
	uint64_t cap_ms;       /* the largest backoff ceiling */
	uint64_t max_after_ms; /* a Retry-After longer than this is capped to it */
};

/* Defaults (5 attempts, 500 ms base, 30 s cap, 60 s longest Retry-After), then
 * max_attempts from REEL_<STAGE>_MAX_ATTEMPTS when set. -1 with err naming
 * the variable when it is not a whole number in 1..100. */
int retry_policy_init(struct retry_policy *p, const char *stage, char *err, size_t errlen) WARN_UNUSED;
/* True when another attempt is allowed after `attempts` attempts. */
bool retry_allowed(const struct retry_policy *p, long attempts);
/* Full jitter: uniform in [0, min(cap, base * 2^(attempts-1))], attempts >= 1. */
uint64_t retry_backoff_ms(const struct retry_policy *p, long attempts);
/* A Retry-After value (delta seconds, or an HTTP-date against now) in ms;
 * -1 when value is NULL or not understood. */
int64_t retry_after_ms(const char *value, time_t now);
/* The wait before the next attempt: the backoff, or after_ms (a vendor's
 * Retry-After, capped to max_after_ms) when that is longer; after_ms <= 0 is none. */
uint64_t retry_delay_ms(const struct retry_policy *p, long attempts, int64_t after_ms);
/* True for the statuses a vendor means as "try again": 408, 409, 425, 429, 5xx (529 included). */
bool retry_status_transient(int status);

#endif
