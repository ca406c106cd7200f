/*
 * Shared by the unit tests of common/http_server: a server on an ephemeral
 * port runs its loop in a second thread (setup/teardown) with the handlers
 * below, while each test talks to it over plain blocking sockets with raw
 * bytes through the client here. Included by each test file.
 */
#ifndef REEL_HTTP_SERVER_FIXTURE_H
#define REEL_HTTP_SERVER_FIXTURE_H

#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "http_server.h"
#include "../unit_suite.h"
#include "banned.h"

/* ---- handlers (run on the loop thread) ---- */

static atomic_int abort_count, abort_matched, write_failed, late_done;
static struct http_exchange *held;

struct later {
	uv_timer_t timer;
	struct http_exchange *x;
	const char *text;
	int n;
};

static inline void free_later(uv_handle_t *h)
{
	free(h->data);
}

static inline struct later *later_new(void *loop, struct http_exchange *x, const char *text)
{
	struct later *l = calloc(1, sizeof(*l));
	l->x = x;
	l->text = text;
	uv_timer_init(loop, &l->timer);
	l->timer.data = l;
	return l;
}

static inline void h_params(struct http_exchange *x, void *arg)
{
	struct http_request *rq = http_request_of(x);
	cJSON *o = cJSON_CreateObject();
	cJSON *ps = cJSON_AddArrayToObject(o, "params");
	(void)arg;
	for (size_t i = 0; i < rq->n_params; i++)
		cJSON_AddItemToArray(ps, cJSON_CreateString(rq->params[i]));
	cJSON_AddStringToObject(o, "method", rq->method);
	cJSON_AddStringToObject(o, "path", rq->path);
	const char *xt = http_header(rq, "X-Test");
	if (xt)
		cJSON_AddStringToObject(o, "x_test", xt);
	cJSON_AddStringToObject(o, "peer", rq->peer);
	char *text = cJSON_PrintUnformatted(o);
	http_reply(x, 200, "application/json", text, strlen(text));
	free(text);
	cJSON_Delete(o);
}

static inline void h_echo(struct http_exchange *x, void *arg)
{
	struct http_request *rq = http_request_of(x);
	const char *ct = http_header(rq, "content-type");
	char len[32];
	(void)arg;
	snprintf(len, sizeof(len), "%zu", rq->body_len);
	http_add_header(x, "X-Body-Len", len);
	http_reply(x, 200, ct ? ct : "application/octet-stream", rq->body, rq->body_len);
}

static inline void h_query(struct http_exchange *x, void *arg)
{
	struct http_request *rq = http_request_of(x);
	char a[64], b[64], c[64], d[64], e[64], f[4], out[512];
	const char *name = http_query(rq, "name", a, sizeof(a));
	const char *xv = http_query(rq, "x", b, sizeof(b));
	const char *empty = http_query(rq, "empty", c, sizeof(c));
	const char *flag = http_query(rq, "flag", d, sizeof(d));
	const char *missing = http_query(rq, "missing", e, sizeof(e));
	const char *small = http_query(rq, "name", f, sizeof(f));
	(void)arg;
	snprintf(out, sizeof(out), "name=%s;x=%s;empty=%s;flag=%s;missing=%s;small=%s", name ? name : "NULL",
		 xv ? xv : "NULL", empty ? empty : "NULL", flag ? flag : "NULL", missing ? missing : "NULL",
		 small ? small : "NULL");
	http_reply(x, 200, "text/plain", out, strlen(out));
}

static inline void on_later(uv_timer_t *t)
{
	struct later *l = t->data;
	http_reply(l->x, 200, "text/plain", l->text, strlen(l->text));
	if (!strcmp(l->text, "late"))
		late_done++;
	uv_close((uv_handle_t *)t, free_later);
}

static inline void h_slow(struct http_exchange *x, void *arg)
{
	struct later *l = later_new(arg, x, "slow");
	uv_timer_start(&l->timer, on_later, 80, 0);
}

static inline void h_late(struct http_exchange *x, void *arg)
{
	struct later *l = later_new(arg, x, "late");
	uv_timer_start(&l->timer, on_later, 150, 0);
}

static inline void h_fast(struct http_exchange *x, void *arg)
{
	(void)arg;
	http_reply(x, 200, "text/plain", "fast", 4);
}

static inline void on_sse_tick(uv_timer_t *t)
{
	struct later *l = t->data;
	char ev[32];
	int n = snprintf(ev, sizeof(ev), "data: %d\n\n", ++l->n);
	int r = http_stream_write(l->x, ev, (size_t)n);
	if (r == 0 && l->n == 2)
		http_stream_end(l->x);
	if (r < 0 || l->n == 2)
		uv_close((uv_handle_t *)t, free_later);
}

static inline void h_sse(struct http_exchange *x, void *arg)
{
	struct later *l = later_new(arg, x, NULL);
	http_add_header(x, "Cache-Control", "no-store");
	http_stream_start(x, 200, "text/event-stream");
	if (http_stream_write(x, "data: 0\n\n", 9) < 0) {
		uv_close((uv_handle_t *)&l->timer, free_later);
		return;
	}
	uv_timer_start(&l->timer, on_sse_tick, 20, 20);
}

static inline void on_hold_abort(struct http_exchange *x, void *arg)
{
	(void)arg;
	if (x == held)
		abort_matched++;
	abort_count++;
	held = NULL;
}

static inline void h_hold(struct http_exchange *x, void *arg)
{
	(void)arg;
	http_stream_start(x, 200, "text/event-stream");
	http_on_abort(x, on_hold_abort, NULL);
	held = x;
	if (http_stream_write(x, "data: hello\n\n", 13) < 0)
		held = NULL;
}

static inline void on_spray_tick(uv_timer_t *t)
{
	struct later *l = t->data;
	if (http_stream_write(l->x, "data: x\n\n", 9) < 0) {
		write_failed++;
		uv_close((uv_handle_t *)t, free_later);
	}
}

static inline void h_spray(struct http_exchange *x, void *arg)
{
	struct later *l = later_new(arg, x, NULL);
	http_stream_start(x, 200, "text/event-stream");
	uv_timer_start(&l->timer, on_spray_tick, 0, 10);
}

static inline void h_problem(struct http_exchange *x, void *arg)
{
	char f[64];
	const char *field = http_query(http_request_of(x), "field", f, sizeof(f));
	(void)arg;
	http_problem(x, 422, "invalid-input", "Invalid input", "text is empty", field);
}

/* ---- bodies streamed to a file ---- */

static char body_dir[] = "/tmp/reel-http-body-XXXXXX";
static atomic_int body_files; /* paths handed out */

/* PUT /file streams its body (up to 2000 bytes, over max_body) to a fresh file. */
static inline char *body_file_hook(const struct http_request *rq, size_t *limit, void *arg)
{
	(void)arg;
	if (strcmp(rq->method, "PUT") != 0 || strcmp(rq->path, "/file") != 0)
		return NULL;
	*limit = 2000;
	char *path = malloc(sizeof(body_dir) + 16);
	snprintf(path, sizeof(body_dir) + 16, "%s/%d", body_dir, body_files++);
	return path;
}

/* Answers the file's bytes, and whether the request's in-memory body stayed empty. */
static inline void h_file(struct http_exchange *x, void *arg)
{
	struct http_request *rq = http_request_of(x);
	char buf[4096], head[64];
	size_t n = 0;
	(void)arg;
	FILE *f = rq->body_file ? fopen(rq->body_file, "rb") : NULL;
	if (f) {
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
	}
	snprintf(head, sizeof(head), "%zu/%d", rq->body_len, rq->body[0] == '\0');
	http_add_header(x, "X-Body", head);
	http_reply(x, f ? 200 : 500, "application/octet-stream", buf, n);
}

static const struct http_route routes[] = {
	{ "GET", "/v1/jobs/{id}/shots/{n}", h_params },
	{ "DELETE", "/v1/jobs/{id}/shots/{n}", h_params },
	{ "GET", "/v1/files/{path*}", h_params },
	{ "POST", "/echo", h_echo },
	{ "GET", "/q", h_query },
	{ "GET", "/slow", h_slow },
	{ "GET", "/late", h_late },
	{ "GET", "/fast", h_fast },
	{ "GET", "/sse", h_sse },
	{ "GET", "/hold", h_hold },
	{ "GET", "/spray", h_spray },
	{ "GET", "/problem", h_problem },
	{ "PUT", "/file", h_file },
};

/* ---- the server thread ---- */

static uv_loop_t loop;
static uv_async_t stopper;
static struct http_server *srv;
static pthread_t loop_thread;
static int port;

static inline void on_stop(uv_async_t *a)
{
	http_server_free(srv);
	uv_close((uv_handle_t *)a, NULL);
}

static inline void *run_loop(void *arg)
{
	(void)arg;
	uv_run(&loop, UV_RUN_DEFAULT);
	return NULL;
}

static inline void setup(void)
{
	struct http_server_opts opts = { .max_body = 1024,
					 .max_header_bytes = 4096,
					 .idle_timeout_ms = 400,
					 .request_timeout_ms = 900,
					 .body_file = body_file_hook };
	char err[256] = "";

	memcpy(body_dir + sizeof(body_dir) - 7, "XXXXXX", 6); /* a test may set up twice */
	ck_assert_ptr_nonnull(mkdtemp(body_dir));
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	srv = http_server_new(&loop, "127.0.0.1:0", routes, sizeof(routes) / sizeof(routes[0]), &loop, &opts, err,
			      sizeof(err));
	ck_assert_msg(srv != NULL, "server: %s", err);
	port = http_server_port(srv);
	ck_assert_int_gt(port, 0);
	uv_async_init(&loop, &stopper, on_stop);
	ck_assert_int_eq(pthread_create(&loop_thread, NULL, run_loop, NULL), 0);
}

static inline void teardown(void)
{
	uv_async_send(&stopper);
	pthread_join(loop_thread, NULL);
	/* every handle, connection and timer must be gone */
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	/* and every streamed body's file with them: only an empty folder is left */
	ck_assert_msg(rmdir(body_dir) == 0, "%s: %s", body_dir, strerror(errno));
}

/* ---- a raw client ---- */

struct cli {
	int fd;
	size_t len;
	char buf[1 << 16];
};

struct resp {
	int status;
	char head[8192];
	size_t body_len;
	char body[1 << 15];
};

static inline struct cli *cli_open(void)
{
	struct cli *c = calloc(1, sizeof(*c));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 };

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(c->fd, 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return c;
}

static inline void cli_close(struct cli *c)
{
	close(c->fd);
	free(c);
}

static inline void cli_send(struct cli *c, const char *data, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);
		ck_assert_int_gt(w, 0);
		data += w;
		n -= (size_t)w;
	}
}

static inline void cli_sends(struct cli *c, const char *s)
{
	cli_send(c, s, strlen(s));
}

/* Reads more bytes; 0 on EOF or reset, -1 on timeout. */
static inline int cli_fill(struct cli *c)
{
	ck_assert_uint_lt(c->len, sizeof(c->buf));
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n < 0)
		return errno == ECONNRESET ? 0 : -1;
	c->len += (size_t)n;
	return n > 0;
}

static inline void cli_consume(struct cli *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

static inline int cli_need(struct cli *c, size_t n)
{
	while (c->len < n)
		if (cli_fill(c) <= 0)
			return -1;
	return 0;
}

/* Index just past the first "\r\n" (or "\r\n\r\n" when blank), reading as needed. */
static inline long cli_find(struct cli *c, const char *delim)
{
	char *p;
	while (!(p = memmem(c->buf, c->len, delim, strlen(delim))))
		if (cli_fill(c) <= 0)
			return -1;
	return (long)(p - c->buf) + (long)strlen(delim);
}

/* True when the server closed the connection (EOF or reset) within the timeout. */
static inline bool cli_closed(struct cli *c)
{
	if (c->len)
		return false;
	return cli_fill(c) == 0;
}

static inline bool resp_header(const struct resp *r, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nl) || p[2 + nl] != ':')
			continue;
		const char *v = p + 3 + nl;
		while (*v == ' ')
			v++;
		size_t vl = strcspn(v, "\r");
		ck_assert_uint_lt(vl, outlen);
		memcpy(out, v, vl);
		out[vl] = '\0';
		return true;
	}
	return false;
}

static inline void body_add(struct resp *r, const char *p, size_t n)
{
	ck_assert_uint_lt(r->body_len + n, sizeof(r->body));
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
}

static inline int read_chunked(struct cli *c, struct resp *r)
{
	for (;;) {
		long at = cli_find(c, "\r\n");
		if (at < 0)
			return -1;
		size_t size = strtoul(c->buf, NULL, 16);
		cli_consume(c, (size_t)at);
		if (cli_need(c, size + 2) < 0)
			return -1;
		ck_assert(!memcmp(c->buf + size, "\r\n", 2));
		body_add(r, c->buf, size);
		cli_consume(c, size + 2);
		if (size == 0)
			return 0;
	}
}

/* Reads one response (its body unless head_only); -1 on EOF or timeout. */
static inline int read_resp(struct cli *c, struct resp *r, bool head_only)
{
	char v[64];
	long hend = cli_find(c, "\r\n\r\n");

	memset(r, 0, sizeof(*r));
	if (hend < 0)
		return -1;
	ck_assert_uint_lt((size_t)hend, sizeof(r->head));
	memcpy(r->head, c->buf, (size_t)hend);
	cli_consume(c, (size_t)hend);
	ck_assert_int_eq(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
	if (head_only)
		return 0;
	if (resp_header(r, "content-length", v, sizeof(v))) {
		size_t n = strtoul(v, NULL, 10);
		if (cli_need(c, n) < 0)
			return -1;
		body_add(r, c->buf, n);
		cli_consume(c, n);
		return 0;
	}
	if (resp_header(r, "transfer-encoding", v, sizeof(v)) && !strcmp(v, "chunked"))
		return read_chunked(c, r);
	while (cli_fill(c) > 0)
		;
	body_add(r, c->buf, c->len);
	cli_consume(c, c->len);
	return 0;
}

/* One request on a fresh connection; returns the connection for more checks. */
static inline struct cli *roundtrip(const char *req, struct resp *r)
{
	struct cli *c = cli_open();
	cli_sends(c, req);
	ck_assert_int_eq(read_resp(c, r, false), 0);
	return c;
}

static inline struct resp *resp_new(void)
{
	return calloc(1, sizeof(struct resp));
}

static inline void wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 300 && *v < want; i++)
		usleep(10000);
	ck_assert_int_eq(*v, want);
}

static inline void check_problem(const struct resp *r, int status, const char *slug, const char *title)
{
	char v[128], type[128];

	ck_assert_int_eq(r->status, status);
	ck_assert(resp_header(r, "content-type", v, sizeof(v)));
	ck_assert_str_eq(v, "application/problem+json");
	cJSON *o = cJSON_Parse(r->body);
	ck_assert_ptr_nonnull(o);
	snprintf(type, sizeof(type), "https://reelforge.dev/problems/%s", slug);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "type")->valuestring, type);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "title")->valuestring, title);
	ck_assert_int_eq(cJSON_GetObjectItem(o, "status")->valueint, status);
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "detail")));
	cJSON_Delete(o);
}

#endif
