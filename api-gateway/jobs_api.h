/*
 * POST /v1/jobs and GET /v1/jobs/{id}: creates committed in groups (every request of one loop
 * iteration shares one transaction, so a burst of jobs pays one commit) and the cached job resource.
 */
#ifndef REEL_JOBS_API_H
#define REEL_JOBS_API_H

#include <stddef.h>

#include "http_server.h"

struct gateway;
struct daemon;

/* Starts the group-commit handle once the daemon is up. */
void jobs_api_start(struct daemon *d);
void jobs_api_create(struct http_exchange *x, void *arg);
void jobs_api_get(struct http_exchange *x, void *arg);
/* Drops job id's cached resource: the gateway's own actions call it as they change the job. */
void jobs_api_forget(struct gateway *g, const char *id);

#endif
