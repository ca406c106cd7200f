/*
 * The request being parsed: llhttp's callbacks collect the URL and headers
 * into conn->head (NUL-separated, positions in conn->hpos) and the body into
 * conn->body, refusing what exceeds the server's limits with the status to
 * answer; once the head is whole the route is resolved. on_message_complete
 * pauses the parser: one exchange at a time (see http_server.c's DESIGN).
 */
#include "http_server_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http_decode.h"
#include "log.h"
#include "str.h"
#include "banned.h"

static int fail(struct conn *c, int status)
{
	c->fail = status;
	return HPE_USER;
}

static int add_head(struct conn *c, const char *at, size_t len)
{
	if (c->head.len + len > c->srv->opts.max_header_bytes)
		return fail(c, 431);
	http_buf_add(&c->head, at, len);
	return 0;
}

static int on_message_begin(llhttp_t *p)
{
	struct conn *c = p->data;
	c->head.len = 0;
	c->url_len = 0;
	c->in_field = c->in_value = false;
	c->body.len = 0;
	c->x.rq.body_len = 0;
	http__body_file_drop(c);
	c->fail = 0;
	c->route = NULL;
	c->route_status = 0;
	c->x.rq.n_headers = 0;
	c->x.rq.n_params = 0;
	c->req_started = uv_now(c->srv->loop);
	c->began = c->req_started;
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	return add_head(p->data, at, len);
}

static int on_url_complete(llhttp_t *p)
{
	struct conn *c = p->data;
	c->url_len = c->head.len;
	return add_head(c, "", 1);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	if (!c->in_field) {
		if (c->x.rq.n_headers == HTTP_MAX_HEADERS)
			return fail(c, 431);
		c->hpos[c->x.rq.n_headers].name = c->head.len;
		c->in_field = true;
	}
	return add_head(c, at, len);
}

static int on_header_field_complete(llhttp_t *p)
{
	struct conn *c = p->data;
	c->in_field = false;
	return add_head(c, "", 1);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	if (!c->in_value) {
		c->hpos[c->x.rq.n_headers].value = c->head.len;
		c->in_value = true;
	}
	return add_head(c, at, len);
}

static int on_header_value_complete(llhttp_t *p)
{
	struct conn *c = p->data;
	if (!c->in_value)
		c->hpos[c->x.rq.n_headers].value = c->head.len;
	c->in_value = false;
	c->x.rq.n_headers++;
	return add_head(c, "", 1);
}

static bool method_fits(const char *route, const char *method)
{
	return !strcmp(route, method) || (!strcmp(method, "HEAD") && !strcmp(route, "GET"));
}

static void allow_add(struct conn *c, const char *method)
{
	size_t len = strlen(c->allow);
	if (strstr(c->allow, method))
		return;
	snprintf(c->allow + len, sizeof(c->allow) - len, "%s%s", len ? ", " : "", method);
}

/* Picks the route for raw_path; params are decoded into scratch. */
static void resolve_route(struct conn *c, const char *raw_path, char *scratch, size_t cap)
{
	struct http_request *rq = &c->x.rq;
	const struct http_server *s = c->srv;
	bool path_known = false;

	c->allow[0] = '\0';
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct http_route *r = &s->routes[i];
		if (!http_match_route(r->pattern, raw_path, scratch, cap, rq->params, &rq->n_params))
			continue;
		if (method_fits(r->method, rq->method)) {
			c->route = r;
			return;
		}
		path_known = true;
		allow_add(c, r->method);
	}
	rq->n_params = 0;
	c->route_status = path_known ? 405 : 404;
}

static void fix_headers(struct conn *c)
{
	struct http_request *rq = &c->x.rq;
	for (size_t i = 0; i < rq->n_headers; i++) {
		char *name = c->head.p + c->hpos[i].name;
		char *value = c->head.p + c->hpos[i].value;
		for (char *q = name; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		size_t vl = strlen(value);
		while (vl && (value[vl - 1] == ' ' || value[vl - 1] == '\t'))
			value[--vl] = '\0';
		rq->headers[i].name = name;
		rq->headers[i].value = value;
	}
}

/* Turns the collected head into the request: path, query, headers, route. */
static int finish_head(struct conn *c)
{
	struct http_request *rq = &c->x.rq;
	size_t url_len = c->url_len;

	str_copy(rq->method, llhttp_method_name(llhttp_get_method(&c->parser)), sizeof(rq->method));
	/* Room for the decoded path and the params; nothing moves after this. */
	http_buf_reserve(&c->head, 2 * (url_len + 1));
	char *url = c->head.p;
	if (url_len == 0 || url[0] != '/')
		return -1;
	char *q = memchr(url, '?', url_len);
	size_t plen = q ? (size_t)(q - url) : url_len;
	url[plen] = '\0';
	rq->query = q ? q + 1 : url + url_len;

	char *path = c->head.p + c->head.len;
	if (http_decode_path(path, plen + 1, url, plen) < 0)
		return -1;
	rq->path = path;
	char *scratch = path + plen + 1;
	c->head.len += 2 * (plen + 1);
	fix_headers(c);
	resolve_route(c, url, scratch, plen + 1);
	return 0;
}

void http__body_file_drop(struct conn *c)
{
	struct http_request *rq = &c->x.rq;
	if (c->body_fd >= 0)
		close(c->body_fd);
	c->body_fd = -1;
	if (rq->body_file && unlink(rq->body_file) < 0 && errno != ENOENT)
		log_warn("http: removing %s: %s", rq->body_file, strerror(errno));
	free(rq->body_file);
	rq->body_file = NULL;
}

/* Asks the server's owner whether this body goes to a file, and opens it: 0, or the status to answer. */
static int open_body_file(struct conn *c)
{
	const struct http_server_opts *o = &c->srv->opts;
	struct http_request *rq = &c->x.rq;
	c->body_limit = o->max_body;
	if (!o->body_file || !c->route || !(rq->body_file = o->body_file(rq, &c->body_limit, c->srv->arg)))
		return 0;
	c->body_fd = open(rq->body_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (c->body_fd >= 0)
		return 0;
	log_error("http: body file %s: %s", rq->body_file, strerror(errno));
	free(rq->body_file);
	rq->body_file = NULL;
	return 500;
}

static int on_headers_complete(llhttp_t *p)
{
	struct conn *c = p->data;
	struct http_exchange *x = &c->x;
	int status;

	if (finish_head(c) < 0)
		return fail(c, 400);
	if ((status = open_body_file(c)))
		return fail(c, status);
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->body_limit)
		return fail(c, 413);
	x->keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
	x->chunked = p->http_major == 1 && p->http_minor >= 1;
	x->head = !strcmp(x->rq.method, "HEAD");
	const char *expect = http_header(&x->rq, "expect");
	if (expect && !strcasecmp(expect, "100-continue") && x->chunked)
		http__send_continue(c);
	return 0;
}

/* Appends to the body file; on the loop thread, as a page-cache write is short. */
static int write_body(struct conn *c, const char *at, size_t len)
{
	c->req_started = uv_now(c->srv->loop); /* a long upload is slow, not stuck, while bytes come */
	while (len) {
		ssize_t n = write(c->body_fd, at, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("http: writing %s: %s", c->x.rq.body_file, strerror(errno));
			return fail(c, 500);
		}
		at += n;
		len -= (size_t)n;
	}
	return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	size_t have = c->body_fd >= 0 ? c->x.rq.body_len : c->body.len;
	if (have + len > c->body_limit)
		return fail(c, 413);
	if (c->body_fd >= 0) {
		c->x.rq.body_len += len;
		return write_body(c, at, len);
	}
	http_buf_add(&c->body, at, len);
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	struct conn *c = p->data;
	static char empty[1];

	if (c->body.len) {
		http_buf_reserve(&c->body, 1);
		c->body.p[c->body.len] = '\0';
	}
	c->x.rq.body = c->body.len ? c->body.p : empty;
	if (c->body_fd >= 0) {
		close(c->body_fd);
		c->body_fd = -1;
	} else {
		c->x.rq.body_len = c->body.len;
	}
	c->req_started = 0;
	return HPE_PAUSED; /* one exchange at a time: see DESIGN */
}

const llhttp_settings_t http__parse_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_url_complete = on_url_complete,
	.on_header_field = on_header_field,
	.on_header_field_complete = on_header_field_complete,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};
