/*
 * Stream tokens: a browser's EventSource cannot send an Authorization
 * header, so its owner trades the header for a short-lived token naming one
 * job's event stream, passed as ?token=. A token is
 * "<exp>.<hex owner>.<hex HMAC-SHA256>" over a purpose tag, the job id, the
 * owner and exp, keyed with REEL_URL_SECRET: every gateway sharing that
 * secret accepts every other's tokens.
 */
#ifndef REEL_STREAM_TOKEN_H
#define REEL_STREAM_TOKEN_H

#include <stddef.h>
#include <time.h>

#include "util.h"

#define STREAM_TOKEN_TTL_MAX 300 /* seconds a token may live, at most */
#define STREAM_TOKEN_SKEW_S 60   /* clock difference tolerated between gateways */

/* A token for job's stream, of owner, valid until exp. secret must be
 * non-empty. The caller frees. */
char *stream_token_make(const char *secret, const char *job, const char *owner, time_t exp);

/* 0 when token was made with secret for job and is still valid at now, with
 * its owner copied into owner; -1 with why otherwise ("malformed", "not for
 * this job or altered", "expired", or an expiry further than the longest
 * lifetime allows). The signature is compared in constant time and before
 * the expiry is looked at. */
int stream_token_check(const char *secret, const char *token, const char *job, time_t now, char *owner, size_t ownerlen,
		       char *why, size_t whylen) WARN_UNUSED;

#endif
