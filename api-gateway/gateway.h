/*
 * api-gateway's state and its route handlers. Creates are committed in
 * groups: every request that arrives in one loop iteration shares one
 * transaction, so the gateway pays one commit for a burst of jobs.
 */
#ifndef REEL_GATEWAY_H
#define REEL_GATEWAY_H

#include <uv.h>

#include "daemon.h"
#include "http_server.h"
#include "json.h"

struct pending_create;

struct gateway {
	struct daemon *d;
	uv_check_t flush;                 /* runs the group transaction once per loop iteration */
	struct pending_create *pending;   /* creates waiting for it, in arrival order */
	struct pending_create **pending_tail;
};

/* Starts the group-commit handle once the daemon is up. */
void gateway_start(struct daemon *d);

void gateway_create_job(struct http_exchange *x, void *arg);
void gateway_get_job(struct http_exchange *x, void *arg);

/* The job resource as JSON text for job id, or NULL when there is no such job
 * (*found = 0) or the database failed (*found = -1). The caller frees. */
char *job_view_render(struct daemon *d, const char *id, int *found);

/* The resource of a job just created (queued, no shots yet), without a
 * database round trip. The caller frees. */
char *job_view_new(const char *id, const char *template, const cJSON *options, const char *created_at);

#endif
