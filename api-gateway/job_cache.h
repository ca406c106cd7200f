/*
 * A small cache of rendered job resources (GET /v1/jobs/{id}), keyed by job
 * id. Entries name their owner and a deadline; the gateway drops a job's
 * entry when an event of that job is read on the LISTEN connection or when
 * one of its own actions changes the job. Pure logic over a clock the
 * caller passes in, so tests drive time by hand.
 */
#ifndef REEL_JOB_CACHE_H
#define REEL_JOB_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct job_cache; /* owned by its creator; job_cache_free releases it */

/* A cache holding at most max_bytes (bodies, owners and entry headers
 * counted), whose entries live ttl_ms after they were put. */
struct job_cache *job_cache_new(size_t max_bytes, uint64_t ttl_ms);
void job_cache_free(struct job_cache *c);
/* The cached body of job id when owner has it and it is younger than its
 * deadline at now_ms, with its length in *len; else NULL. The text stays
 * valid until the next call that changes the cache. */
const char *job_cache_get(struct job_cache *c, const char *id, const char *owner, uint64_t now_ms, size_t *len);
/* Stores a copy of body as job id's resource for owner, replacing what was
 * there and evicting the least recently used entries to stay within the
 * bound; a body larger than the bound is not stored. */
void job_cache_put(struct job_cache *c, const char *id, const char *owner, const char *body, size_t len,
		   uint64_t now_ms);
/* Forgets job id's entry (a no-op when there is none). */
void job_cache_drop(struct job_cache *c, const char *id);
/* Forgets the entries whose deadline passed at now_ms; the entries left. */
size_t job_cache_expire(struct job_cache *c, uint64_t now_ms);
/* Forgets every entry. */
void job_cache_clear(struct job_cache *c);
/* Entries held now, and the bytes they count against the bound. */
size_t job_cache_count(const struct job_cache *c);
size_t job_cache_bytes(const struct job_cache *c);

#endif
