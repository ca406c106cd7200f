/*
 * The handler's side of the HTTP server: plain and problem+json replies,
 * chunked streams for Server-Sent Events, the write path with its growable
 * buffers, header and query lookups, and route pattern matching.
 */
#include "http_server_int.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_decode.h"
#include "log.h"
#include "metrics.h"
#include "banned.h"

#define WRITE_QUEUE_MAX (8u << 20) /* a peer this far behind is dropped */
#define PROBLEM_BASE "https://reelforge.dev/problems/"

/* ---- route matching ---- */

int http_match_route(const char *pattern, const char *path, char *buf, size_t buflen, const char **params, size_t *n)
{
	size_t np = 0, used = 0;

	while (*pattern == '/' && *path == '/') {
		pattern++;
		path++;
		const char *pe = pattern + strcspn(pattern, "/");
		size_t plen = (size_t)(pe - pattern);
		bool ph = plen >= 2 && pattern[0] == '{' && pe[-1] == '}';
		bool rest = ph && plen >= 3 && pe[-2] == '*';
		size_t seglen = rest ? strlen(path) : strcspn(path, "/");
		char *d = buf + used;
		long dl = http_decode_pct(d, buflen - used, path, seglen, false);
		if (dl < 0)
			return 0;
		if (ph) {
			if (dl == 0 || np == HTTP_MAX_PARAMS)
				return 0;
			params[np++] = d;
			used += (size_t)dl + 1;
		} else if (plen != (size_t)dl || memcmp(pattern, d, plen) != 0) {
			return 0;
		}
		pattern = pe;
		path += seglen;
		if (rest && *pattern)
			return 0;
	}
	if (*pattern || *path)
		return 0;
	*n = np;
	return 1;
}

/* ---- writing ---- */

struct wreq {
	uv_write_t req;
	struct conn *conn;
	char data[];
};

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = w->conn;
	free(w);
	if (status < 0)
		http__conn_close(c);
}

/* Queues what uv_try_write left over (from byte done on) in one owned copy. */
static int queue_rest(struct conn *c, const uv_buf_t *b, unsigned n, size_t done, size_t total)
{
	struct wreq *w = xmalloc(sizeof(*w) + total - done);
	size_t at = 0;
	for (unsigned i = 0; i < n; i++) {
		if (done >= b[i].len) {
			done -= b[i].len;
			continue;
		}
		memcpy(w->data + at, b[i].base + done, b[i].len - done);
		at += b[i].len - done;
		done = 0;
	}
	w->conn = c;
	uv_buf_t wb = uv_buf_init(w->data, (unsigned)at);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &wb, 1, on_write) < 0) {
		free(w);
		http__conn_close(c);
		return -1;
	}
	return 0;
}

static int send_bufs(struct conn *c, const uv_buf_t *b, unsigned n)
{
	size_t total = 0;
	for (unsigned i = 0; i < n; i++)
		total += b[i].len;
	if (c->state == C_CLOSING)
		return -1;
	if (c->tcp.write_queue_size > WRITE_QUEUE_MAX) {
		log_warn("http: dropping %s, %zu bytes unread", c->x.rq.peer, c->tcp.write_queue_size);
		http__conn_close(c);
		return -1;
	}
	if (total == 0)
		return 0;
	int r = uv_try_write((uv_stream_t *)&c->tcp, b, n);
	if (r == UV_EAGAIN)
		r = 0;
	if (r < 0) {
		http__conn_close(c);
		return -1;
	}
	if ((size_t)r == total)
		return 0;
	return queue_rest(c, b, n, (size_t)r, total);
}

void http__send_continue(struct conn *c)
{
	static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
	uv_buf_t b = uv_buf_init((char *)msg, sizeof(msg) - 1);
	(void)send_bufs(c, &b, 1);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

static const char *http_date(struct http_server *s)
{
	time_t now = time(NULL);
	if (now != s->date_at) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(s->date, sizeof(s->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		s->date_at = now;
	}
	return s->date;
}

static bool bodyless(int status)
{
	return status < 200 || status == 204 || status == 304;
}

/* Counts the answer by route pattern (never the raw path, which would make
 * a series per job) and status; streams count when their head goes out. */
static void count_request(struct conn *c, int status)
{
	const char *route = c->route ? c->route->pattern : "unmatched";
	const char *method = c->route ? c->route->method : "other";
	char labels[256];
	snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\",status=\"%d\"", method, route, status);
	metrics_add(metrics_counter("reel_http_requests_total", "HTTP requests answered, by route and status", labels),
		    1);
	snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\"", method, route);
	metrics_observe(metrics_histogram("reel_http_request_duration_seconds",
					  "From the request's first byte to its answer's head", labels),
			(double)(uv_now(c->srv->loop) - c->began) / 1000.0);
}

/* Builds the status line and headers into c->out; len < 0 means a stream. */
static void build_head(struct conn *c, int status, const char *ctype, long long len)
{
	struct http_exchange *x = &c->x;
	struct http_buf *o = &c->out;

	count_request(c, status);
	if (c->srv->closing)
		x->keep_alive = false;
	o->len = 0;
	http_buf_printf(o, "HTTP/1.1 %d %s\r\n", status, reason(status));
	if (ctype)
		http_buf_printf(o, "Content-Type: %s\r\n", ctype);
	if (len >= 0 && !bodyless(status))
		http_buf_printf(o, "Content-Length: %lld\r\n", len);
	else if (len < 0 && x->chunked)
		http_buf_adds(o, "Transfer-Encoding: chunked\r\n");
	http_buf_printf(o, "Date: %s\r\nConnection: %s\r\n", http_date(c->srv), x->keep_alive ? "keep-alive" : "close");
	http_buf_add(o, c->extra.p, c->extra.len);
	http_buf_add(o, "\r\n", 2);
	c->extra.len = 0;
}

/* ---- the handler's side ---- */

struct http_request *http_request_of(struct http_exchange *x)
{
	return &x->rq;
}

const char *http_header(const struct http_request *rq, const char *name)
{
	for (size_t i = 0; i < rq->n_headers; i++)
		if (!strcasecmp(rq->headers[i].name, name))
			return rq->headers[i].value;
	return NULL;
}

static bool key_is(const char *key, size_t klen, const char *name)
{
	char k[128];
	long n = http_decode_pct(k, sizeof(k), key, klen, true);
	return n >= 0 && !strcmp(k, name);
}

const char *http_query(const struct http_request *rq, const char *name, char *buf, size_t buflen)
{
	for (const char *p = rq->query; *p;) {
		size_t plen = strcspn(p, "&");
		const char *eq = memchr(p, '=', plen);
		size_t klen = eq ? (size_t)(eq - p) : plen;
		if (key_is(p, klen, name)) {
			const char *v = eq ? eq + 1 : p + plen;
			return http_decode_pct(buf, buflen, v, (size_t)(p + plen - v), true) < 0 ? NULL : buf;
		}
		p += plen;
		if (*p == '&')
			p++;
	}
	return NULL;
}

void http_add_header(struct http_exchange *x, const char *name, const char *value)
{
	if (x->state != X_ACTIVE || strpbrk(name, "\r\n: ") || strpbrk(value, "\r\n")) {
		log_warn("http: header %s refused (late or has CR/LF)", name);
		return;
	}
	http_buf_printf(&x->conn->extra, "%s: %s\r\n", name, value);
}

void http_reply(struct http_exchange *x, int status, const char *content_type, const char *body, size_t len)
{
	struct conn *c = x->conn;

	if (x->state != X_ACTIVE) {
		log_warn("http: reply on an exchange that is streaming or done");
		return;
	}
	if (c->state != C_CLOSING) {
		build_head(c, status, content_type, (long long)len);
		uv_buf_t b[2] = { uv_buf_init(c->out.p, (unsigned)c->out.len),
				  uv_buf_init((char *)body, (unsigned)len) };
		bool no_body = x->head || bodyless(status) || !len;
		(void)send_bufs(c, b, no_body ? 1 : 2);
	}
	http__finish_exchange(c);
}

void http_problem(struct http_exchange *x, int status, const char *type, const char *title, const char *detail,
		  const char *field)
{
	http_problem_with(x, status, type, title, detail, field, NULL);
}

void http_problem_with(struct http_exchange *x, int status, const char *type, const char *title, const char *detail,
		       const char *field, cJSON *members)
{
	cJSON *o = cJSON_CreateObject();
	char *uri = strchr(type, ':') ? xstrdup(type) : xasprintf(PROBLEM_BASE "%s", type);

	cJSON_AddStringToObject(o, "type", uri);
	cJSON_AddStringToObject(o, "title", title ? title : reason(status));
	cJSON_AddNumberToObject(o, "status", status);
	if (detail)
		cJSON_AddStringToObject(o, "detail", detail);
	if (field) {
		/* "errors" lists every field at fault (RFC 9457 extension); "field" stays for older clients. */
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "field", field);
		cJSON_AddStringToObject(e, "field", field);
		cJSON_AddStringToObject(e, "detail", detail ? detail : title ? title : reason(status));
		cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "errors"), e);
	}
	while (members && members->child) {
		cJSON *m = members->child;
		cJSON_DetachItemViaPointer(members, m);
		cJSON_AddItemToObject(o, m->string, m);
	}
	cJSON_Delete(members);
	char *text = cJSON_PrintUnformatted(o);
	http_reply(x, status, "application/problem+json", text, strlen(text));
	cJSON_free(text);
	cJSON_Delete(o);
	free(uri);
}

void http_stream_start(struct http_exchange *x, int status, const char *content_type)
{
	struct conn *c = x->conn;

	if (x->state != X_ACTIVE) {
		log_warn("http: stream started twice or after the reply");
		return;
	}
	x->state = X_STREAM;
	if (!x->chunked)
		x->keep_alive = false; /* HTTP/1.0: the close ends the body */
	if (c->state == C_CLOSING)
		return;
	build_head(c, status, content_type, -1);
	uv_buf_t b = uv_buf_init(c->out.p, (unsigned)c->out.len);
	(void)send_bufs(c, &b, 1);
	/* A stream may stay open for hours: the buffers the head was built in
	 * are given back (send_bufs copied what the kernel did not take). */
	http_buf_reset(&c->out, 0);
	http_buf_reset(&c->extra, 0);
}

int http_stream_write(struct http_exchange *x, const char *data, size_t len)
{
	struct conn *c = x->conn;
	char size[24];

	if (x->state != X_STREAM)
		return log_error("http: stream write without http_stream_start");
	if (c->state == C_CLOSING) {
		http__finish_exchange(c);
		return -1;
	}
	if (!len || x->head)
		return 0; /* an empty chunk would end the stream */
	uv_buf_t b[3] = { uv_buf_init(size, 0), uv_buf_init((char *)data, (unsigned)len),
			  uv_buf_init((char *)"\r\n", 2) };
	b[0].len = (size_t)snprintf(size, sizeof(size), "%zx\r\n", len);
	int r = x->chunked ? send_bufs(c, b, 3) : send_bufs(c, b + 1, 1);
	if (r < 0) {
		http__finish_exchange(c);
		return -1;
	}
	return 0;
}

void http_stream_end(struct http_exchange *x)
{
	struct conn *c = x->conn;

	if (x->state != X_STREAM) {
		log_warn("http: stream end without http_stream_start");
		return;
	}
	if (c->state != C_CLOSING && x->chunked && !x->head) {
		uv_buf_t b = uv_buf_init((char *)"0\r\n\r\n", 5);
		(void)send_bufs(c, &b, 1);
	}
	http__finish_exchange(c);
}

void http_on_abort(struct http_exchange *x, void (*fn)(struct http_exchange *x, void *arg), void *arg)
{
	x->on_abort = fn;
	x->abort_arg = arg;
}
