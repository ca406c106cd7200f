/*
 * GET /v1/jobs/{id}/manifest: the finished video's manifest with signed URLs.
 */
#ifndef REEL_MANIFEST_API_H
#define REEL_MANIFEST_API_H

#include <stddef.h>

#include "http_server.h"

/* GET /v1/jobs/{id}/manifest: the stored manifest with a signed url per asset; 404 until there is one. */
void manifest_api_get(struct http_exchange *x, void *arg);

#endif
