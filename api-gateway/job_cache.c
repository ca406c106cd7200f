/*
 * Job resources in a chained hash table keyed by job id, threaded on two
 * doubly linked lists: in use order (a hit moves its entry to the front, the
 * bound evicts from the back) and in put order, which is deadline order as
 * every entry lives the same time, so expiry pops from its head. Nothing
 * runs on a timer: expired entries go when looked up or when the owner
 * calls job_cache_expire.
 */
#include "job_cache.h"

#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "util.h"
#include "banned.h"

#define SLOTS 4096 /* a power of two */
#define ID_MAX 40

struct entry {
	struct entry *next;            /* in its slot's chain */
	struct entry *newer, *older;   /* in use order */
	struct entry *later, *earlier; /* in put (deadline) order */
	uint64_t deadline_ms;
	size_t cost; /* what it counts against the bound */
	char id[ID_MAX];
	char *owner;
	size_t len;
	char body[];
};

struct job_cache {
	size_t max_bytes, bytes, n;
	uint64_t ttl_ms;
	struct entry *newest, *oldest;
	struct entry *last_put, *first_put;
	struct entry *slots[SLOTS];
};

struct job_cache *job_cache_new(size_t max_bytes, uint64_t ttl_ms)
{
	struct job_cache *c = xcalloc(1, sizeof(*c));
	c->max_bytes = max_bytes;
	c->ttl_ms = ttl_ms;
	return c;
}

static struct entry **slot_of(struct job_cache *c, const char *id)
{
	return &c->slots[str_hash(id) & (SLOTS - 1)];
}

static void unlink_use(struct job_cache *c, struct entry *e)
{
	*(e->newer ? &e->newer->older : &c->newest) = e->older;
	*(e->older ? &e->older->newer : &c->oldest) = e->newer;
	e->newer = e->older = NULL;
}

static void link_newest(struct job_cache *c, struct entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	*(c->newest ? &c->newest->newer : &c->oldest) = e;
	c->newest = e;
}

static void link_last_put(struct job_cache *c, struct entry *e)
{
	e->earlier = c->last_put;
	e->later = NULL;
	*(c->last_put ? &c->last_put->later : &c->first_put) = e;
	c->last_put = e;
}

/* Where the pointer to id's entry is (in its chain); *result NULL when absent. */
static struct entry **find(struct job_cache *c, const char *id)
{
	struct entry **p = slot_of(c, id);
	while (*p && strcmp((*p)->id, id) != 0)
		p = &(*p)->next;
	return p;
}

static void remove_at(struct job_cache *c, struct entry **p)
{
	struct entry *e = *p;
	*p = e->next;
	unlink_use(c, e);
	*(e->later ? &e->later->earlier : &c->last_put) = e->earlier;
	*(e->earlier ? &e->earlier->later : &c->first_put) = e->later;
	c->bytes -= e->cost;
	c->n--;
	free(e->owner);
	free(e);
}

void job_cache_drop(struct job_cache *c, const char *id)
{
	struct entry **p = find(c, id);
	if (*p)
		remove_at(c, p);
}

const char *job_cache_get(struct job_cache *c, const char *id, const char *owner, uint64_t now_ms, size_t *len)
{
	struct entry **p = find(c, id), *e = *p;
	if (!e)
		return NULL;
	if (now_ms >= e->deadline_ms) {
		remove_at(c, p);
		return NULL;
	}
	if (strcmp(e->owner, owner) != 0)
		return NULL; /* another user's job: the database answers them (404) */
	unlink_use(c, e);
	link_newest(c, e);
	*len = e->len;
	return e->body;
}

void job_cache_put(struct job_cache *c, const char *id, const char *owner, const char *body, size_t len,
		   uint64_t now_ms)
{
	size_t owner_len = strlen(owner), cost = sizeof(struct entry) + len + 1 + owner_len + 1;
	if (strlen(id) >= ID_MAX || c->ttl_ms == 0)
		return;
	job_cache_drop(c, id);
	if (cost > c->max_bytes)
		return;
	while (c->bytes + cost > c->max_bytes)
		job_cache_drop(c, c->oldest->id);
	struct entry *e = xmalloc(sizeof(*e) + len + 1), **slot = slot_of(c, id);
	str_copy(e->id, id, sizeof(e->id));
	e->owner = xstrndup(owner, owner_len);
	e->len = len;
	memcpy(e->body, body, len);
	e->body[len] = '\0';
	e->cost = cost;
	e->deadline_ms = now_ms + c->ttl_ms;
	e->next = *slot;
	*slot = e;
	link_newest(c, e);
	link_last_put(c, e);
	c->bytes += cost;
	c->n++;
}

void job_cache_clear(struct job_cache *c)
{
	while (c->oldest)
		job_cache_drop(c, c->oldest->id);
}

size_t job_cache_expire(struct job_cache *c, uint64_t now_ms)
{
	while (c->first_put && now_ms >= c->first_put->deadline_ms)
		job_cache_drop(c, c->first_put->id);
	return c->n;
}

size_t job_cache_count(const struct job_cache *c)
{
	return c->n;
}

size_t job_cache_bytes(const struct job_cache *c)
{
	return c->bytes;
}

void job_cache_free(struct job_cache *c)
{
	if (!c)
		return;
	job_cache_clear(c);
	free(c);
}
