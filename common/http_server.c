/*
 * The HTTP/1.1 server every daemon embeds: connections on the libuv loop,
 * llhttp parsing, route dispatch, plain and problem+json replies, and chunked
 * streams for Server-Sent Events.
 *
 * DESIGN
 * - One struct conn per TCP connection. It embeds the parser, its buffers
 *   (kept across requests) and the one exchange in progress, so a request
 *   costs no allocation. Requests are answered strictly in order:
 *   on_message_complete pauses llhttp, the request is dispatched, and the
 *   bytes after it wait in conn->pending until the exchange ends
 *   (pipelining). While an exchange is open we keep reading, up to
 *   BACKLOG_MAX bytes, only so that a disconnect is noticed.
 * - Lifetime: conn->refs counts the TCP handle, the timer handle and an open
 *   exchange. A handler may therefore answer after the peer left (the answer
 *   is dropped). The abort callback runs from the TCP close callback, never
 *   from inside a handler's own call into this module.
 * - Writes go through uv_try_write; what the kernel did not take is copied
 *   into a write request freed in its callback. A response that ends the
 *   connection is followed by a shutdown and a short discarding read
 *   ("lingering close"), so the peer reads the answer instead of a reset.
 * - Reads land in one server-wide buffer; only unparsed bytes are copied.
 */
#include "errbuf.h"
#include "http_server_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "str.h"
#include "banned.h"

#define BACKLOG_MAX 65536 /* bytes read ahead while an exchange is open */
#define KEEP_BYTES 65536  /* larger per-connection buffers are freed after use */
#define LINGER_MS 2000

static void conn_unref(struct conn *c);
static void start_linger(struct conn *c);
static void drive(struct conn *c);

/* ---- exchanges ---- */

/* Ends the exchange and drops its reference: c may be gone afterwards. */
void http__finish_exchange(struct conn *c)
{
	struct http_exchange *x = &c->x;

	x->state = X_NONE;
	x->on_abort = NULL;
	x->abort_arg = NULL;
	c->extra.len = 0;
	http_buf_reset(&c->body, KEEP_BYTES);
	http__body_file_drop(c);
	if (c->state == C_OPEN) {
		if (!x->keep_alive || c->srv->closing)
			start_linger(c);
		else if (!c->dispatching)
			drive(c);
	}
	conn_unref(c);
}

static void begin_exchange(struct conn *c)
{
	c->x.state = X_ACTIVE;
	c->refs++;
}

static void dispatch(struct conn *c)
{
	struct http_exchange *x = &c->x;

	begin_exchange(c);
	c->dispatching = true;
	if (c->srv->opts.before && c->srv->opts.before(x, c->srv->arg)) {
		c->dispatching = false;
		return;
	}
	if (c->route_status == 404) {
		http_problem(x, 404, "not-found", "Not Found", "no route matches this path", NULL);
	} else if (c->route_status == 405) {
		http_add_header(x, "Allow", c->allow);
		http_problem(x, 405, "method-not-allowed", "Method Not Allowed",
			     "this path does not accept that method", NULL);
	} else {
		c->route->handler(x, c->srv->arg);
	}
	c->dispatching = false;
}

/* Answers a request we could not (or would not) parse, then closes. */
static void reject(struct conn *c)
{
	int status = c->fail ? c->fail : 400;
	struct http_exchange *x = &c->x;
	const char *why = llhttp_get_error_reason(&c->parser);

	log_debug("http: %d for %s: %s", status, x->rq.peer, why ? why : "limit");
	begin_exchange(c);
	x->keep_alive = false;
	x->head = false;
	c->dispatching = true;
	if (status == 413)
		http_problem(x, 413, "payload-too-large", NULL, "the request body is too large", NULL);
	else if (status == 500)
		http_problem(x, 500, "internal", NULL, "the request body could not be stored", NULL);
	else if (status == 408)
		http_problem(x, 408, "request-timeout", NULL, "the request did not arrive in time", NULL);
	else if (status == 431)
		http_problem(x, 431, "headers-too-large", NULL, "the request head is too large", NULL);
	else
		http_problem(x, 400, "bad-request", NULL, "the request is malformed", NULL);
	c->dispatching = false;
}

/* Parses data until it runs out or an exchange stays open; returns bytes used. */
static size_t feed(struct conn *c, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len && c->state == C_OPEN && c->x.state == X_NONE) {
		llhttp_errno_t e = llhttp_execute(&c->parser, data + off, len - off);
		if (e == HPE_OK)
			return len;
		if (e != HPE_PAUSED) {
			reject(c);
			return len;
		}
		off = (size_t)(llhttp_get_error_pos(&c->parser) - data);
		llhttp_resume(&c->parser);
		dispatch(c);
	}
	return off;
}

/* ---- connection lifecycle ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct conn *c = h->data;
	(void)hint;
	*b = uv_buf_init(c->srv->rbuf, sizeof(c->srv->rbuf));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);

static void set_reading(struct conn *c, bool on)
{
	if (on == c->reading)
		return;
	if (!on) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	} else if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) {
		c->reading = true;
	} else {
		http__conn_close(c);
	}
}

static void on_timer(uv_timer_t *t);

static void arm_idle(struct conn *c)
{
	const struct http_server_opts *o = &c->srv->opts;
	c->last_active = uv_now(c->srv->loop);
	if (!uv_is_active((uv_handle_t *)&c->timer))
		uv_timer_start(&c->timer, on_timer, MIN(o->idle_timeout_ms, o->request_timeout_ms), 0);
}

/* Milliseconds from start until start + limit has passed, 0 when it has. */
static uint64_t left(uint64_t now, uint64_t start, uint64_t limit)
{
	return now - start >= limit ? 0 : start + limit - now;
}

/* Between exchanges: a request begun but not whole in time gets 408 (a
 * client trickling bytes stays "active" but never finishes); a connection
 * with nothing begun is closed once idle. */
static void on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	const struct http_server_opts *o = &c->srv->opts;
	uint64_t now = uv_now(c->srv->loop);

	if (c->state == C_LINGER) {
		http__conn_close(c);
	} else if (c->state == C_OPEN && c->x.state == X_NONE) {
		uint64_t idle = left(now, c->last_active, o->idle_timeout_ms);
		uint64_t req = c->req_started ? left(now, c->req_started, o->request_timeout_ms) : UINT64_MAX;
		if (req == 0) {
			c->fail = 408;
			reject(c);
		} else if (idle == 0 && !c->req_started) {
			http__conn_close(c);
		} else {
			uv_timer_start(&c->timer, on_timer, MIN(req, idle ? idle : o->request_timeout_ms), 0);
		}
	}
}

/* Parses what was read ahead, then decides whether to read on. */
static void drive(struct conn *c)
{
	while (c->state == C_OPEN && c->x.state == X_NONE && c->pending_off < c->pending.len)
		c->pending_off += feed(c, c->pending.p + c->pending_off, c->pending.len - c->pending_off);
	if (c->pending_off == c->pending.len) {
		c->pending_off = 0;
		http_buf_reset(&c->pending, KEEP_BYTES);
	}
	if (c->state != C_OPEN)
		return;
	if (c->x.state == X_NONE && c->peer_eof) {
		start_linger(c);
		return;
	}
	if (c->x.state == X_NONE)
		arm_idle(c);
	set_reading(c, !c->peer_eof && c->pending.len - c->pending_off < BACKLOG_MAX);
}

static void on_data(struct conn *c, const char *data, size_t n)
{
	c->last_active = uv_now(c->srv->loop);
	if (c->x.state != X_NONE || c->pending.len) {
		http_buf_add(&c->pending, data, n);
		drive(c);
		return;
	}
	size_t used = feed(c, data, n);
	if (used < n && c->state == C_OPEN)
		http_buf_add(&c->pending, data + used, n - used);
	drive(c);
}

static void on_read_end(struct conn *c, ssize_t err)
{
	struct http_exchange *x = &c->x;

	c->reading = false;
	if (err != UV_EOF || c->state != C_OPEN) {
		http__conn_close(c);
		return;
	}
	c->peer_eof = true;
	/* A half-close is a disconnect for a handler that asked to hear of one. */
	if (x->state != X_NONE && (x->on_abort || x->state == X_STREAM))
		http__conn_close(c);
	else if (x->state == X_NONE)
		drive(c);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = st->data;

	if (nread < 0)
		on_read_end(c, nread);
	else if (nread > 0 && c->state == C_OPEN)
		on_data(c, b->base, (size_t)nread);
	/* in C_LINGER what arrives is discarded */
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;

	if (c->state != C_LINGER)
		return;
	if (status < 0 || c->peer_eof) {
		http__conn_close(c);
		return;
	}
	set_reading(c, true);
	uv_timer_start(&c->timer, on_timer, LINGER_MS, 0);
}

/* Ends the connection after what is queued has been written. */
static void start_linger(struct conn *c)
{
	if (c->state != C_OPEN)
		return;
	c->state = C_LINGER;
	uv_timer_stop(&c->timer);
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
		http__conn_close(c);
}

static void server_unref(struct http_server *s)
{
	if (--s->refs == 0)
		free(s);
}

static void conn_unref(struct conn *c)
{
	if (--c->refs > 0)
		return;
	http__body_file_drop(c);
	free(c->head.p);
	free(c->body.p);
	free(c->pending.p);
	free(c->out.p);
	free(c->extra.p);
	struct http_server *s = c->srv;
	free(c);
	server_unref(s);
}

static void on_tcp_close(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct http_exchange *x = &c->x;

	if (c->prev)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (x->state != X_NONE && x->on_abort) {
		void (*fn)(struct http_exchange *, void *) = x->on_abort;
		x->on_abort = NULL;
		fn(x, x->abort_arg);
		if (x->state != X_NONE)
			http__finish_exchange(c);
	}
	conn_unref(c);
}

static void on_timer_close(uv_handle_t *h)
{
	conn_unref(h->data);
}

void http__conn_close(struct conn *c)
{
	if (c->state == C_CLOSING)
		return;
	c->state = C_CLOSING;
	c->reading = false;
	uv_close((uv_handle_t *)&c->tcp, on_tcp_close);
	uv_close((uv_handle_t *)&c->timer, on_timer_close);
}

static void set_peer(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char *out = c->x.rq.peer;

	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&ss, out, sizeof(c->x.rq.peer));
	else
		uv_ip4_name((struct sockaddr_in *)&ss, out, sizeof(c->x.rq.peer));
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct http_server *s = listener->data;

	if (status < 0) {
		log_warn("http: accept: %s", uv_strerror(status));
		return;
	}
	struct conn *c = xcalloc(1, sizeof(*c));
	c->srv = s;
	s->refs++;
	c->refs = 2; /* the TCP and timer handles */
	c->x.conn = c;
	c->body_fd = -1;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c->timer.data = c->shutdown.data = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0) {
		http__conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	set_peer(c);
	llhttp_init(&c->parser, HTTP_REQUEST, &http__parse_settings);
	c->parser.data = c;
	arm_idle(c);
	set_reading(c, true);
}

/* ---- server ---- */

static int parse_addr(const char *addr, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	const char *colon = strrchr(addr, ':');
	char host[64], *end;

	if (!colon)
		return errbuf_set(err, errlen, "address \"%s\": expected host:port", addr);
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 0 || port > 65535)
		return errbuf_set(err, errlen, "address \"%s\": bad port", addr);
	size_t hlen = (size_t)(colon - addr);
	if (hlen >= sizeof(host))
		return errbuf_set(err, errlen, "address \"%s\": host too long", addr);
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	if (hlen == 0 || !strcmp(host, "localhost"))
		str_copy(host, "127.0.0.1", sizeof(host));
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		if (uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)ss) == 0)
			return 0;
	} else if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0) {
		return 0;
	}
	return errbuf_set(err, errlen, "address \"%s\": host is not an IP address", addr);
}

static void on_listener_close(uv_handle_t *h)
{
	server_unref(h->data);
}

/* libuv writes with write(2): a peer that reset the connection would kill the
 * process with SIGPIPE instead of failing the write with EPIPE. */
static void ignore_sigpipe(void)
{
	struct sigaction sa;
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
}

static void apply_defaults(struct http_server_opts *o, const struct http_server_opts *in)
{
	if (in)
		*o = *in;
	if (!o->max_body)
		o->max_body = 1u << 20;
	if (!o->max_header_bytes)
		o->max_header_bytes = 16384;
	if (!o->idle_timeout_ms)
		o->idle_timeout_ms = 30000;
	if (!o->request_timeout_ms)
		o->request_timeout_ms = 30000;
}

/* A pattern that could never match is a programming error worth naming early. */
static int check_routes(const struct http_route *routes, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const struct http_route *r = &routes[i];
		size_t holes = 0;
		for (const char *p = r->pattern; (p = strchr(p, '{')); p++)
			holes++;
		if (!r->method || !r->handler || r->pattern[0] != '/' || holes > HTTP_MAX_PARAMS)
			return errbuf_set(err, errlen, "route %s %s: bad pattern, method or handler",
					  r->method ? r->method : "?", r->pattern);
	}
	return 0;
}

struct http_server *http_server_new(uv_loop_t *loop, const char *addr, const struct http_route *routes, size_t n_routes,
				    void *arg, const struct http_server_opts *opts, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int r;

	memset(&ss, 0, sizeof(ss));
	if (parse_addr(addr, &ss, err, errlen) < 0 || check_routes(routes, n_routes, err, errlen) < 0)
		return NULL;
	struct http_server *s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->routes = routes;
	s->n_routes = n_routes;
	s->arg = arg;
	s->refs = 2; /* owner and listener */
	apply_defaults(&s->opts, opts);
	ignore_sigpipe();
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	if ((r = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0)) < 0 ||
	    (r = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection)) < 0) {
		errbuf_set(err, errlen, "listen on %s: %s", addr, uv_strerror(r));
		http_server_free(s);
		return NULL;
	}
	int len = sizeof(ss);
	if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len) == 0)
		s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	return s;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	s->closing = true;
	uv_close((uv_handle_t *)&s->listener, on_listener_close);
	for (struct conn *c = s->conns; c; c = c->next)
		http__conn_close(c);
	server_unref(s);
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}
