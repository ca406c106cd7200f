/*
 * Per partition, a ring of the offsets in flight in arrival (= offset) order
 * with a finished flag each. Finishing pops the finished prefix, so each
 * message costs O(1) amortised plus a binary search.
 */
#include "offsets.h"

#include <stdbool.h>
#include <stdlib.h>

#include "banned.h"

struct slot {
	int64_t offset;
	bool done;
};

struct partition {
	int32_t id;
	struct slot *ring;
	size_t cap, head, len; /* ring[head .. head+len) mod cap, offsets ascending */
};

struct offsets {
	struct partition *parts;
	size_t n_parts;
	size_t in_flight;
};

struct offsets *offsets_new(void)
{
	return xcalloc(1, sizeof(struct offsets));
}

void offsets_free(struct offsets *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n_parts; i++)
		free(o->parts[i].ring);
	free(o->parts);
	free(o);
}

static struct partition *find(struct offsets *o, int32_t id, bool create)
{
	for (size_t i = 0; i < o->n_parts; i++)
		if (o->parts[i].id == id)
			return &o->parts[i];
	if (!create)
		return NULL;
	o->parts = xrealloc(o->parts, (o->n_parts + 1) * sizeof(*o->parts));
	struct partition *p = &o->parts[o->n_parts++];
	*p = (struct partition){ .id = id };
	return p;
}

static struct slot *at(struct partition *p, size_t i)
{
	return &p->ring[(p->head + i) % p->cap];
}

static void grow(struct partition *p)
{
	size_t cap = p->cap ? p->cap * 2 : 64;
	struct slot *ring = xmalloc(cap * sizeof(*ring));
	for (size_t i = 0; i < p->len; i++)
		ring[i] = *at(p, i);
	free(p->ring);
	p->ring = ring;
	p->cap = cap;
	p->head = 0;
}

void offsets_begin(struct offsets *o, int32_t partition, int64_t offset)
{
	struct partition *p = find(o, partition, true);
	if (p->len == p->cap)
		grow(p);
	*at(p, p->len) = (struct slot){ .offset = offset };
	p->len++;
	o->in_flight++;
}

/* Index of offset in the ring, or -1. */
static long search(struct partition *p, int64_t offset)
{
	size_t lo = 0, hi = p->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t v = at(p, mid)->offset;
		if (v == offset)
			return (long)mid;
		if (v < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int offsets_finish(struct offsets *o, int32_t partition, int64_t offset, int64_t *next)
{
	struct partition *p = find(o, partition, false);
	long i = p ? search(p, offset) : -1;
	int64_t last = -1;

	if (i < 0 || at(p, (size_t)i)->done)
		return -1;
	at(p, (size_t)i)->done = true;
	o->in_flight--;
	while (p->len && at(p, 0)->done) {
		last = at(p, 0)->offset;
		p->head = (p->head + 1) % p->cap;
		p->len--;
	}
	if (last < 0)
		return 0;
	*next = last + 1;
	return 1;
}

size_t offsets_in_flight(const struct offsets *o)
{
	return o->in_flight;
}

void offsets_forget(struct offsets *o, int32_t partition)
{
	struct partition *p = find(o, partition, false);
	if (!p)
		return;
	for (size_t i = 0; i < p->len; i++)
		if (!at(p, i)->done)
			o->in_flight--;
	p->len = 0;
	p->head = 0;
}
