/*
 * The OpenAPI document: read at start, served at /openapi.json.
 */
#ifndef REEL_OPENAPI_H
#define REEL_OPENAPI_H

#include <stddef.h>

#include "http_server.h"

struct daemon;

/* The configure hook of main.c: reads the OpenAPI document (REEL_OPENAPI_FILE,
 * else ../share/openapi.json beside the binary, else the source tree's
 * api-gateway/openapi.json from build/<mode>/bin), then identity_configure. */
int openapi_configure(struct daemon *d, char *err, size_t errlen);
/* GET /openapi.json: the document, as read at start. */
void openapi_get(struct http_exchange *x, void *arg);

#endif
