/*
 * GET /v1/files/{path*}: signed, expiring downloads from file storage.
 */
#ifndef REEL_FILES_API_H
#define REEL_FILES_API_H

#include <stddef.h>

#include "http_server.h"

struct gateway;

/* GET /v1/files/{path*}: signed downloads from file storage, read on the thread pool. */
void files_api_get_file(struct http_exchange *x, void *arg);
/* Answers GET of key, which the caller has authorized, with byte ranges, as
 * /v1/files does (read on the thread pool). */
void files_api_send_file(struct http_exchange *x, struct gateway *g, const char *key);
/* A signed, expiring, gateway-relative download URL for a storage key; the caller frees. */
char *files_api_file_url(const struct gateway *g, const char *key);

#endif
