/*
 * Offset bookkeeping for a consumer that finishes messages out of order.
 * Kafka commits one offset per partition meaning "everything before this is
 * done", so a partition's committable offset only advances past a run of
 * finished messages with no unfinished one before them.
 */
#ifndef REEL_OFFSETS_H
#define REEL_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct offsets; /* owned by its creator; offsets_free releases it */

struct offsets *offsets_new(void);
void offsets_free(struct offsets *o);
/* Records that a message was taken; offsets of a partition must arrive in increasing order. */
void offsets_begin(struct offsets *o, int32_t partition, int64_t offset);
/* Marks a taken message finished. Returns 1 and sets *next when the
 * partition's committable offset advanced (store *next), 0 when it did not,
 * -1 when the offset was never begun. */
int offsets_finish(struct offsets *o, int32_t partition, int64_t offset, int64_t *next) WARN_UNUSED;
/* Messages begun and not yet finished, over all partitions. */
size_t offsets_in_flight(const struct offsets *o);
/* Forgets a partition (after it was revoked). */
void offsets_forget(struct offsets *o, int32_t partition);

#endif
