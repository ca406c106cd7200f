/*
 * An HTTP client on the daemon's libuv loop: libcurl's multi interface driven
 * by the loop, so hundreds of vendor calls are in flight at once without a
 * thread each. One http_client per loop; every call has its own timeout and
 * response-size cap and ends in exactly one callback, unless it is canceled.
 */
#ifndef REEL_HTTP_CLIENT_H
#define REEL_HTTP_CLIENT_H

#include <stddef.h>
#include <uv.h>

#include "util.h"

struct http_client;      /* owned by its creator; http_client_free releases it */
struct http_client_call; /* one request in flight; owned by the client */

enum http_client_outcome {
	HTTP_CLIENT_DONE,      /* an answer arrived (any status) */
	HTTP_CLIENT_TIMEOUT,   /* no complete answer within the request's timeout */
	HTTP_CLIENT_TOO_LARGE, /* the body passed the request's max_response */
	HTTP_CLIENT_FAILED,    /* connection refused, DNS, TLS, broken transfer... */
};

struct http_client_request {
	const char *method; /* "GET", "POST"...; NULL means GET, or POST with a body */
	const char *url;
	const char *const *headers; /* "Name: value" lines, or NULL */
	size_t n_headers;
	const char *body; /* copied; NULL for none */
	size_t body_len;
	long timeout_ms;       /* whole exchange; 0 means 30 s */
	size_t max_response;   /* body size cap; 0 means 8 MiB */
	const char *resolve;   /* "host:port:address" the host is pinned to (CURLOPT_RESOLVE), or NULL */
	const char *vendor;    /* the metrics' vendor label ("openai", "fal"...); NULL = the URL's host */
	const char *body_path; /* stream the body into this file (created or truncated) instead of memory:
				      * memory stays flat, max_response still caps it, and the file is removed
				      * unless the outcome is HTTP_CLIENT_DONE; NULL keeps the body in memory */
};

struct http_client_response {
	enum http_client_outcome outcome;
	int status;        /* HTTP status, 0 without an answer */
	const char *error; /* what went wrong when outcome != DONE, else "" */
	const char *body;  /* NUL-terminated (may hold NULs), "" when empty or written to body_path */
	size_t body_len;   /* the body's size, in memory or in body_path */
	char **headers;    /* the final answer's "name: value" lines, names lower-cased */
	size_t n_headers;
	uint64_t elapsed_ms; /* from start to the end of the exchange */
};

/* Runs once per call on the loop; r and its strings live only during the call. */
typedef void (*http_client_fn)(const struct http_client_response *r, void *arg);

struct http_client *http_client_new(uv_loop_t *loop);
/* Cancels every call still in flight (no callbacks) and frees once libuv closed the handles. */
void http_client_free(struct http_client *c);
/* Starts a request; cb hears the result later, never from inside this call.
 * The handle stays valid until cb runs or http_client_cancel. */
struct http_client_call *http_client_start(struct http_client *c, const struct http_client_request *rq,
					   http_client_fn cb, void *arg);
/* Stops a call in flight; its callback is not run. */
void http_client_cancel(struct http_client_call *call);
/* Calls in flight. */
size_t http_client_in_flight(const struct http_client *c);
/* A header's value by lower-case name, or NULL. */
const char *http_client_header(const struct http_client_response *r, const char *name);

#endif
