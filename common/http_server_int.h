/*
 * Internals shared by http_server.c (listener, connections, dispatch),
 * http_parse.c (parsing) and http_reply.c (replies, streams, writes,
 * lookups). Not part of the API: only those files include it.
 */
#ifndef REEL_HTTP_SERVER_INT_H
#define REEL_HTTP_SERVER_INT_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http_buf.h"
#include "http_server.h"

#define READ_BUF_SIZE 65536

enum conn_state { C_OPEN, C_LINGER, C_CLOSING };
enum x_state { X_NONE, X_ACTIVE, X_STREAM };

struct http_exchange {
	struct conn *conn;
	struct http_request rq;
	enum x_state state;
	bool keep_alive; /* the connection may carry another request after this one */
	bool chunked;    /* streams use chunked encoding (HTTP/1.1) */
	bool head;       /* HEAD: send headers only */
	void (*on_abort)(struct http_exchange *x, void *arg);
	void *abort_arg;
};

struct hdr_pos {
	size_t name, value; /* offsets into conn->head */
};

struct conn {
	struct http_server *srv;
	struct conn *prev, *next; /* in srv->conns until the TCP handle closed */
	uv_tcp_t tcp;
	uv_timer_t timer; /* idle timeout, then linger timeout */
	uv_shutdown_t shutdown;
	llhttp_t parser;
	enum conn_state state;
	int refs;
	bool reading, peer_eof, dispatching;
	uint64_t last_active;
	uint64_t req_started; /* when the request being parsed began, 0 between requests */
	uint64_t began;       /* when the current request began, for its latency metric */
	struct http_buf head; /* url, header names and values, NUL-separated */
	size_t url_len;
	struct hdr_pos hpos[HTTP_MAX_HEADERS];
	bool in_field, in_value;
	int fail;         /* status to answer when we stopped the parser on purpose */
	int route_status; /* 0 (route found), 404 or 405 */
	const struct http_route *route;
	char allow[80];
	struct http_buf body;
	int body_fd;             /* the open body file of a streamed body, or -1 */
	size_t body_limit;       /* its largest size */
	struct http_buf pending; /* read but not yet parsed */
	size_t pending_off;
	struct http_buf out;   /* response head being built */
	struct http_buf extra; /* headers added by the handler */
	struct http_exchange x;
};

struct http_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	const struct http_route *routes;
	size_t n_routes;
	void *arg;
	struct http_server_opts opts;
	struct conn *conns;
	int refs; /* owner, listener handle, each conn struct */
	bool closing;
	int port;
	time_t date_at;
	char date[40];
	char rbuf[READ_BUF_SIZE];
};

/* http_parse.c: the callbacks a connection's parser runs with (parser.data is its struct conn). */
extern const llhttp_settings_t http__parse_settings;
/* Closes and removes the request's body file, if any. */
void http__body_file_drop(struct conn *c);
/* Sends "100 Continue" ahead of the body. */
void http__send_continue(struct conn *c);
/* Closes the connection; its memory goes when the last reference drops. */
void http__conn_close(struct conn *c);
/* Ends the exchange and drops its reference: c may be gone afterwards. */
void http__finish_exchange(struct conn *c);

#endif
