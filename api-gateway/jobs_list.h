/*
 * GET /v1/jobs: the caller's jobs, newest first.
 */
#ifndef REEL_JOBS_LIST_H
#define REEL_JOBS_LIST_H

#include <stddef.h>

#include "http_server.h"

/* GET /v1/jobs: the caller's jobs, newest first; ?status=&limit=&cursor=. */
void jobs_list_get(struct http_exchange *x, void *arg);

#endif
