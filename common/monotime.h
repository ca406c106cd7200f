/*
 * The monotonic clock, for intervals and deadlines (never for dates).
 */
#ifndef REEL_MONOTIME_H
#define REEL_MONOTIME_H

#include <stdint.h>

/* Monotonic milliseconds and microseconds since an arbitrary start. */
uint64_t monotime_ms(void);
uint64_t monotime_us(void);

#endif
