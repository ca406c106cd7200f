/*
 * Who is asking: the gateway's authentication (bearer JWTs, API keys) and its configure hook.
 */
#ifndef REEL_IDENTITY_H
#define REEL_IDENTITY_H

#include <stddef.h>

#include "http_server.h"
#include "util.h"

struct gateway;
struct daemon;

/* The configure hook: builds the verifier, or keeps an unauthenticated
 * gateway on loopback. */
int identity_configure(struct daemon *d, char *err, size_t errlen);
/* Who is asking: fills owner and returns 0, or answers 401 itself and
 * returns -1. Without authentication configured everyone is "anonymous"
 * (and the gateway listens on loopback only). */
int identity_authenticate(struct http_exchange *x, struct gateway *g, char *owner, size_t ownerlen) WARN_UNUSED;

#endif
