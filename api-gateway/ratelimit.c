/*
 * Token buckets in a chained hash table keyed by user. A bucket stores its
 * level and when it was last topped up; the refill is computed on use, so
 * no timer touches idle users, and a periodic sweep drops full buckets.
 */
#include "ratelimit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "banned.h"

struct bucket {
	struct bucket *next;
	double tokens;
	uint64_t at_ms; /* when tokens was computed */
	char key[];
};

struct ratelimit {
	double rate, burst;
	struct bucket **slots;
	size_t n_slots, n;
};

static size_t slot_of(const struct ratelimit *rl, const char *key)
{
	return str_hash(key) & (rl->n_slots - 1);
}

struct ratelimit *ratelimit_new(double rate, double burst)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst < 1 ? 1 : burst;
	rl->n_slots = 256;
	rl->slots = xcalloc(rl->n_slots, sizeof(*rl->slots));
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	for (size_t i = 0; i < rl->n_slots; i++)
		for (struct bucket *b = rl->slots[i], *next; b; b = next) {
			next = b->next;
			free(b);
		}
	free(rl->slots);
	free(rl);
}

static void grow(struct ratelimit *rl)
{
	struct bucket **old = rl->slots;
	size_t n = rl->n_slots;
	rl->n_slots *= 2;
	rl->slots = xcalloc(rl->n_slots, sizeof(*rl->slots));
	for (size_t i = 0; i < n; i++)
		for (struct bucket *b = old[i], *next; b; b = next) {
			next = b->next;
			size_t s = slot_of(rl, b->key);
			b->next = rl->slots[s];
			rl->slots[s] = b;
		}
	free(old);
}

static struct bucket *find(struct ratelimit *rl, const char *key, uint64_t now_ms)
{
	size_t s = slot_of(rl, key);
	for (struct bucket *b = rl->slots[s]; b; b = b->next)
		if (!strcmp(b->key, key))
			return b;
	size_t len = strlen(key);
	struct bucket *b = xmalloc(sizeof(*b) + len + 1);
	memcpy(b->key, key, len + 1);
	b->tokens = rl->burst;
	b->at_ms = now_ms;
	b->next = rl->slots[s];
	rl->slots[s] = b;
	if (++rl->n > rl->n_slots)
		grow(rl);
	return b;
}

static void refill(const struct ratelimit *rl, struct bucket *b, uint64_t now_ms)
{
	if (now_ms > b->at_ms) {
		b->tokens += (double)(now_ms - b->at_ms) * rl->rate / 1000.0;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
	}
	b->at_ms = now_ms;
}

int ratelimit_take(struct ratelimit *rl, const char *key, uint64_t now_ms, long *retry_after_s)
{
	struct bucket *b = find(rl, key, now_ms);
	refill(rl, b, now_ms);
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 0;
	}
	double wait = (1.0 - b->tokens) / rl->rate;
	*retry_after_s = (long)ceil(wait);
	if (*retry_after_s < 1)
		*retry_after_s = 1;
	return -1;
}

void ratelimit_sweep(struct ratelimit *rl, uint64_t now_ms)
{
	for (size_t i = 0; i < rl->n_slots; i++)
		for (struct bucket **p = &rl->slots[i]; *p;) {
			struct bucket *b = *p;
			refill(rl, b, now_ms);
			if (b->tokens >= rl->burst) {
				*p = b->next;
				free(b);
				rl->n--;
			} else {
				p = &b->next;
			}
		}
}

size_t ratelimit_size(const struct ratelimit *rl)
{
	return rl->n;
}
