/*
 * String helpers: a bounded copy, a hash for in-memory tables and random
 * hex identifiers.
 */
#ifndef REEL_STR_H
#define REEL_STR_H

#include <stddef.h>
#include <stdint.h>

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
/* A 32-bit hash of a string (FNV-1a), for in-memory hash tables. */
uint32_t str_hash(const char *s);
/* A random identifier of 2*nbytes lowercase hex chars into out (size >= 2*nbytes+1). */
void str_random_hex(char *out, size_t nbytes);

#endif
