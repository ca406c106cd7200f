/*
 * An HTTP/1.1 server on the daemon's libuv loop, parsing with llhttp. Routes
 * are matched by method and path pattern; a handler answers at once or later
 * (the exchange stays valid until it is answered or the peer goes away), and
 * may stream (Server-Sent Events). Every daemon serves /healthz, /readyz and
 * /metrics through it; api-gateway and webhook-receiver add their routes.
 */
#ifndef REEL_HTTP_SERVER_H
#define REEL_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "util.h"

#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_HEADERS 64

struct http_header {
	char *name; /* lower-cased */
	char *value;
};

/* A parsed request; owned by the server, valid until the exchange is answered. */
struct http_request {
	char method[16];
	char *path;  /* percent-decoded path, without the query */
	char *query; /* raw query string after '?', or "" */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
	char *body;      /* NUL-terminated for convenience; may contain NULs; "" when in body_file */
	size_t body_len; /* bytes of the body, in memory or in body_file */
	char *body_file; /* the body's file when http_server_opts.body_file asked for one, else NULL;
			      * the handler may rename it away, what is left is removed with the exchange */
	const char *params[HTTP_MAX_PARAMS]; /* path pieces matched by '{x}' in the route */
	size_t n_params;
	char peer[64]; /* remote address as text */
};

struct http_exchange; /* one request and its answer; owned by the server */
struct http_server;   /* owned by its creator; http_server_free releases it */

typedef void (*http_handler_fn)(struct http_exchange *x, void *arg);

struct http_route {
	const char *method;  /* "GET", "POST", ... */
	const char *pattern; /* "/v1/jobs/{id}/events": {..} matches one non-empty segment;
			      * a last "{name*}" matches the rest (one or more segments) */
	http_handler_fn handler;
};

struct http_server_opts {
	size_t max_body;             /* larger bodies get 413 before the handler runs */
	size_t max_header_bytes;     /* request line + headers; larger get 431 */
	unsigned idle_timeout_ms;    /* keep-alive connections idle this long are closed */
	unsigned request_timeout_ms; /* a request whose head and body take longer gets 408; 0 = 30 s */
	/* Runs on every parsed request before routing answers it (a 404 or 405
	 * included); may add headers, or answer itself and return true. NULL = none. */
	bool (*before)(struct http_exchange *x, void *arg);
	/* Runs once a routed request's head is parsed: a body to be streamed to
	 * disk instead of memory gets a fresh path (created here, exclusively)
	 * and *limit, the most bytes it may have (more get 413); NULL keeps the
	 * body in memory under max_body. While such a body arrives, each piece
	 * restarts the request timeout. NULL = none. */
	char *(*body_file)(const struct http_request *rq, size_t *limit, void *arg);
};

/* Creates a server on loop listening on addr ("127.0.0.1:8080", ":9101" meaning
 * loopback, "0.0.0.0:80", "[::1]:8080"); routes must outlive it. NULL with err
 * filled on failure. Zero options take defaults (1 MiB body, 16 KiB head, 30 s
 * idle, 30 s per request). Sets SIGPIPE to ignored if it still has its default action. */
struct http_server *http_server_new(uv_loop_t *loop, const char *addr, const struct http_route *routes, size_t n_routes,
				    void *arg, const struct http_server_opts *opts, char *err, size_t errlen);
/* Stops listening and closes every connection; frees once libuv has closed the handles. */
void http_server_free(struct http_server *s);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *s);

struct http_request *http_request_of(struct http_exchange *x);
/* A header's value by lower-case name, or NULL. */
const char *http_header(const struct http_request *rq, const char *name);
/* A query parameter's percent-decoded value ('+' is a space) into buf; NULL when
 * absent, badly escaped, or longer than buflen - 1. */
const char *http_query(const struct http_request *rq, const char *name, char *buf, size_t buflen);

/* Adds a response header (before replying or starting a stream). */
void http_add_header(struct http_exchange *x, const char *name, const char *value);
/* Answers with status, content type and body (copied). Ends the exchange. */
void http_reply(struct http_exchange *x, int status, const char *content_type, const char *body, size_t len);
/* Answers an RFC 9457 problem+json: type slug, title, detail, optional field
 * at fault (as "field" and as the one entry of "errors": [{"field","detail"}]). */
void http_problem(struct http_exchange *x, int status, const char *type, const char *title, const char *detail,
		  const char *field);
struct cJSON;
/* http_problem with the members of the object members (extension members
 * such as "needed"), which it takes over and frees; members may be NULL. */
void http_problem_with(struct http_exchange *x, int status, const char *type, const char *title, const char *detail,
		       const char *field, struct cJSON *members);

/* Streaming (Server-Sent Events and the like): sends status and headers with
 * chunked encoding; later writes send chunks; http_stream_end finishes. */
void http_stream_start(struct http_exchange *x, int status, const char *content_type);
/* Returns -1 when the peer has gone away (the exchange is then finished by the server). */
int http_stream_write(struct http_exchange *x, const char *data, size_t len) WARN_UNUSED;
void http_stream_end(struct http_exchange *x);
/* Called once if the peer closes before the exchange ends (never from inside
 * one of these calls); register it before the handler returns. The handler
 * must drop its pointer to x in it: the server finishes the exchange after fn.
 * Without it, an exchange whose peer left stays valid until answered. */
void http_on_abort(struct http_exchange *x, void (*fn)(struct http_exchange *x, void *arg), void *arg);

/* Matches a raw path (no query, still percent-encoded) against a route pattern.
 * On a match returns 1 with each placeholder's decoded value NUL-terminated in
 * buf (strlen(path) + 1 bytes suffice) and pointed to by params[0..*n); else 0. */
int http_match_route(const char *pattern, const char *path, char *buf, size_t buflen, const char **params, size_t *n);

#endif
