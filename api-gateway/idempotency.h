/*
 * POSTs that change state run here: one transaction holds the change, its
 * job_events rows, its outbox rows and, when the client sent an
 * Idempotency-Key, the stored answer. A replay of the same key and body by
 * the same owner within 24 hours gets the first answer back; the same key
 * with another body is refused with 422.
 */
#ifndef REEL_IDEMPOTENCY_H
#define REEL_IDEMPOTENCY_H

#include "api_problem.h"
#include "gateway.h"

#define IDEMPOTENCY_KEY_MAX 255

/* What a transactional handler answers: a body commits; none rolls
 * everything back and sends the problem. */
struct api_answer {
	int status;                 /* of the body */
	char *body;                 /* JSON text on success, owned */
	char *location;             /* Location header or NULL, owned */
	char job_id[40];            /* the job acted on, for the stored key ("" if none) */
	struct api_problem problem; /* when status is not 2xx */
};

/* Runs inside the open transaction; stages events and outbox rows on d and fills a. */
typedef void (*idempotency_fn)(struct daemon *d, const char *owner, void *arg, struct api_answer *a);

/* Runs fn in one transaction for owner, honouring the request's
 * Idempotency-Key, commits or rolls back, publishes, and answers x. */
void idempotency_run(struct http_exchange *x, struct daemon *d, const char *owner, idempotency_fn fn, void *arg);

#endif
