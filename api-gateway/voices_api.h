/*
 * GET /v1/voices: the voice catalogue.
 */
#ifndef REEL_VOICES_API_H
#define REEL_VOICES_API_H

#include <stddef.h>

#include "http_server.h"

/* GET /v1/voices?provider=&language=&gender=: {"items":[...]} (voices_api.c). */
void voices_api_list(struct http_exchange *x, void *arg);

#endif
