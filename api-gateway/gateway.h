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

/* The gateway's own options (main.c's table). */
struct gateway_config {
	char *url_secret; /* signs download URLs; random per start when unset */
	long url_ttl_s;   /* how long a download URL stays valid */
};

struct gateway {
	struct daemon *d;
	struct gateway_config cfg;
	uv_check_t flush;                 /* runs the group transaction once per loop iteration */
	struct pending_create *pending;   /* creates waiting for it, in arrival order */
	struct pending_create **pending_tail;
};

/* Starts the group-commit handle once the daemon is up. */
void gateway_start(struct daemon *d);

void gateway_create_job(struct http_exchange *x, void *arg);
void gateway_get_job(struct http_exchange *x, void *arg);
/* GET /v1/files/{path*}: signed downloads from file storage, read on the thread pool. */
void gateway_get_file(struct http_exchange *x, void *arg);
/* A signed, expiring, gateway-relative download URL for a storage key; the caller frees. */
char *gateway_file_url(const struct gateway *g, const char *key);

/* The job resource as JSON text for job id, or NULL when there is no such job
 * (*found = 0) or the database failed (*found = -1). The caller frees. */
char *job_view_render(struct daemon *d, const char *id, int *found);

/* The resource of a job just created (queued, no shots yet), without a
 * database round trip. The caller frees. */
char *job_view_new(const char *id, const char *template, const cJSON *options, const char *created_at);

#endif
