/*
 * Unit tests for common/http_server: a server on an ephemeral port runs its
 * loop in a second thread while each test talks to it over plain blocking
 * sockets with raw bytes, so framing, limits, ordering and disconnects are
 * checked on the wire.
 */
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

static void free_later(uv_handle_t *h)
{
	free(h->data);
}

static struct later *later_new(void *loop, struct http_exchange *x, const char *text)
{
	struct later *l = calloc(1, sizeof(*l));
	l->x = x;
	l->text = text;
	uv_timer_init(loop, &l->timer);
	l->timer.data = l;
	return l;
}

static void h_params(struct http_exchange *x, void *arg)
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

static void h_echo(struct http_exchange *x, void *arg)
{
	struct http_request *rq = http_request_of(x);
	const char *ct = http_header(rq, "content-type");
	char len[32];
	(void)arg;
	snprintf(len, sizeof(len), "%zu", rq->body_len);
	http_add_header(x, "X-Body-Len", len);
	http_reply(x, 200, ct ? ct : "application/octet-stream", rq->body, rq->body_len);
}

static void h_query(struct http_exchange *x, void *arg)
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

static void on_later(uv_timer_t *t)
{
	struct later *l = t->data;
	http_reply(l->x, 200, "text/plain", l->text, strlen(l->text));
	if (!strcmp(l->text, "late"))
		late_done++;
	uv_close((uv_handle_t *)t, free_later);
}

static void h_slow(struct http_exchange *x, void *arg)
{
	struct later *l = later_new(arg, x, "slow");
	uv_timer_start(&l->timer, on_later, 80, 0);
}

static void h_late(struct http_exchange *x, void *arg)
{
	struct later *l = later_new(arg, x, "late");
	uv_timer_start(&l->timer, on_later, 150, 0);
}

static void h_fast(struct http_exchange *x, void *arg)
{
	(void)arg;
	http_reply(x, 200, "text/plain", "fast", 4);
}

static void on_sse_tick(uv_timer_t *t)
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

static void h_sse(struct http_exchange *x, void *arg)
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

static void on_hold_abort(struct http_exchange *x, void *arg)
{
	(void)arg;
	if (x == held)
		abort_matched++;
	abort_count++;
	held = NULL;
}

static void h_hold(struct http_exchange *x, void *arg)
{
	(void)arg;
	http_stream_start(x, 200, "text/event-stream");
	http_on_abort(x, on_hold_abort, NULL);
	held = x;
	if (http_stream_write(x, "data: hello\n\n", 13) < 0)
		held = NULL;
}

static void on_spray_tick(uv_timer_t *t)
{
	struct later *l = t->data;
	if (http_stream_write(l->x, "data: x\n\n", 9) < 0) {
		write_failed++;
		uv_close((uv_handle_t *)t, free_later);
	}
}

static void h_spray(struct http_exchange *x, void *arg)
{
	struct later *l = later_new(arg, x, NULL);
	http_stream_start(x, 200, "text/event-stream");
	uv_timer_start(&l->timer, on_spray_tick, 0, 10);
}

static void h_problem(struct http_exchange *x, void *arg)
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
static char *body_file_hook(const struct http_request *rq, size_t *limit, void *arg)
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
static void h_file(struct http_exchange *x, void *arg)
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

static void on_stop(uv_async_t *a)
{
	http_server_free(srv);
	uv_close((uv_handle_t *)a, NULL);
}

static void *run_loop(void *arg)
{
	(void)arg;
	uv_run(&loop, UV_RUN_DEFAULT);
	return NULL;
}

static void setup(void)
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

static void teardown(void)
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

static struct cli *cli_open(void)
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

static void cli_close(struct cli *c)
{
	close(c->fd);
	free(c);
}

static void cli_send(struct cli *c, const char *data, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);
		ck_assert_int_gt(w, 0);
		data += w;
		n -= (size_t)w;
	}
}

static void cli_sends(struct cli *c, const char *s)
{
	cli_send(c, s, strlen(s));
}

/* Reads more bytes; 0 on EOF or reset, -1 on timeout. */
static int cli_fill(struct cli *c)
{
	ck_assert_uint_lt(c->len, sizeof(c->buf));
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n < 0)
		return errno == ECONNRESET ? 0 : -1;
	c->len += (size_t)n;
	return n > 0;
}

static void cli_consume(struct cli *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

static int cli_need(struct cli *c, size_t n)
{
	while (c->len < n)
		if (cli_fill(c) <= 0)
			return -1;
	return 0;
}

/* Index just past the first "\r\n" (or "\r\n\r\n" when blank), reading as needed. */
static long cli_find(struct cli *c, const char *delim)
{
	char *p;
	while (!(p = memmem(c->buf, c->len, delim, strlen(delim))))
		if (cli_fill(c) <= 0)
			return -1;
	return (long)(p - c->buf) + (long)strlen(delim);
}

/* True when the server closed the connection (EOF or reset) within the timeout. */
static bool cli_closed(struct cli *c)
{
	if (c->len)
		return false;
	return cli_fill(c) == 0;
}

static bool resp_header(const struct resp *r, const char *name, char *out, size_t outlen)
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

static void body_add(struct resp *r, const char *p, size_t n)
{
	ck_assert_uint_lt(r->body_len + n, sizeof(r->body));
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
}

static int read_chunked(struct cli *c, struct resp *r)
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
static int read_resp(struct cli *c, struct resp *r, bool head_only)
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
static struct cli *roundtrip(const char *req, struct resp *r)
{
	struct cli *c = cli_open();
	cli_sends(c, req);
	ck_assert_int_eq(read_resp(c, r, false), 0);
	return c;
}

static struct resp *resp_new(void)
{
	return calloc(1, sizeof(struct resp));
}

static void wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 300 && *v < want; i++)
		usleep(10000);
	ck_assert_int_eq(*v, want);
}

/* ---- route matching (pure) ---- */

START_TEST(test_match_route)
{
	char buf[128];
	const char *p[HTTP_MAX_PARAMS];
	size_t n = 99;

	ck_assert_int_eq(
		http_match_route("/v1/jobs/{id}/shots/{n}", "/v1/jobs/ab%20c/shots/3", buf, sizeof(buf), p, &n), 1);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(p[0], "ab c");
	ck_assert_str_eq(p[1], "3");
	ck_assert_int_eq(http_match_route("/healthz", "/healthz", buf, sizeof(buf), p, &n), 1);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(http_match_route("/", "/", buf, sizeof(buf), p, &n), 1);
	/* a placeholder needs one non-empty segment */
	ck_assert_int_eq(http_match_route("/v1/jobs/{id}", "/v1/jobs/", buf, sizeof(buf), p, &n), 0);
	ck_assert_int_eq(http_match_route("/v1/jobs/{id}", "/v1/jobs/a/b", buf, sizeof(buf), p, &n), 0);
	ck_assert_int_eq(http_match_route("/v1/jobs/{id}", "/v1/jobs", buf, sizeof(buf), p, &n), 0);
	ck_assert_int_eq(http_match_route("/v1/jobs", "/v1/jobs/", buf, sizeof(buf), p, &n), 0);
	ck_assert_int_eq(http_match_route("/v1/jobs", "/v1/job", buf, sizeof(buf), p, &n), 0);
	ck_assert_int_eq(http_match_route("/v1/jobs", "/v1/jobsx", buf, sizeof(buf), p, &n), 0);
	/* literals compare decoded; %2F stays inside one segment */
	ck_assert_int_eq(http_match_route("/v1/jobs", "/v1/%6Aobs", buf, sizeof(buf), p, &n), 1);
	ck_assert_int_eq(http_match_route("/f/{k}", "/f/a%2Fb", buf, sizeof(buf), p, &n), 1);
	ck_assert_str_eq(p[0], "a/b");
	ck_assert_int_eq(http_match_route("/f/{k}", "/f/a%zz", buf, sizeof(buf), p, &n), 0);
	ck_assert_int_eq(http_match_route("/f/{k}", "/f/a%4", buf, sizeof(buf), p, &n), 0);
	/* a last {x*} takes the rest */
	ck_assert_int_eq(http_match_route("/v1/files/{path*}", "/v1/files/jobs/j1/final.mp4", buf, sizeof(buf), p, &n),
			 1);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(p[0], "jobs/j1/final.mp4");
	ck_assert_int_eq(http_match_route("/v1/files/{path*}", "/v1/files/", buf, sizeof(buf), p, &n), 0);
	/* a buffer too small is no match, never an overflow */
	ck_assert_int_eq(http_match_route("/a/{x}", "/a/abcdefgh", buf, 4, p, &n), 0);
}
END_TEST

/* ---- over the wire ---- */

START_TEST(test_get_params)
{
	struct resp *r = resp_new();
	char v[64];
	struct cli *c = roundtrip("GET /v1/jobs/j%2D1/shots/3 HTTP/1.1\r\nHost: x\r\nX-Test: yes  \r\n\r\n", r);

	ck_assert_int_eq(r->status, 200);
	ck_assert(resp_header(r, "content-type", v, sizeof(v)));
	ck_assert_str_eq(v, "application/json");
	ck_assert(resp_header(r, "connection", v, sizeof(v)));
	ck_assert_str_eq(v, "keep-alive");
	ck_assert(resp_header(r, "date", v, sizeof(v)));
	ck_assert(strstr(v, "GMT") != NULL);
	cJSON *o = cJSON_Parse(r->body);
	ck_assert_ptr_nonnull(o);
	cJSON *ps = cJSON_GetObjectItem(o, "params");
	ck_assert_int_eq(cJSON_GetArraySize(ps), 2);
	ck_assert_str_eq(cJSON_GetArrayItem(ps, 0)->valuestring, "j-1");
	ck_assert_str_eq(cJSON_GetArrayItem(ps, 1)->valuestring, "3");
	ck_assert_str_eq(cJSON_GetObjectItem(o, "path")->valuestring, "/v1/jobs/j-1/shots/3");
	ck_assert_str_eq(cJSON_GetObjectItem(o, "x_test")->valuestring, "yes");
	ck_assert_str_eq(cJSON_GetObjectItem(o, "peer")->valuestring, "127.0.0.1");
	cJSON_Delete(o);
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_post_body)
{
	struct resp *r = resp_new();
	char v[64];
	struct cli *c = cli_open();
	static const char req[] = "POST /echo HTTP/1.1\r\nContent-Type: application/json\r\n"
				  "Content-Length: 5\r\n\r\nab\0cd";

	/* the body may hold NUL bytes */
	cli_send(c, req, sizeof(req) - 1);
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, 5);
	ck_assert(!memcmp(r->body, "ab\0cd", 5));
	ck_assert(resp_header(r, "x-body-len", v, sizeof(v)));
	ck_assert_str_eq(v, "5");
	ck_assert(resp_header(r, "content-type", v, sizeof(v)));
	ck_assert_str_eq(v, "application/json");
	cli_close(c);

	/* a chunked body within the limit, the chunks split over writes */
	c = cli_open();
	cli_sends(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
	usleep(20000);
	cli_sends(c, "lo\r\n6\r\n world\r\n0\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(r->body, "hello world");
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_query)
{
	struct resp *r = resp_new();
	struct cli *c = roundtrip("GET /q?name=a+b%21&x=%7E&empty=&flag&bad=%zz HTTP/1.1\r\n\r\n", r);

	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(r->body, "name=a b!;x=~;empty=;flag=;missing=NULL;small=NULL");
	cli_close(c);
	free(r);
}
END_TEST

static void check_problem(const struct resp *r, int status, const char *slug, const char *title)
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

START_TEST(test_not_found)
{
	struct resp *r = resp_new();
	char v[64];
	struct cli *c = roundtrip("GET /nope HTTP/1.1\r\n\r\n", r);

	check_problem(r, 404, "not-found", "Not Found");
	/* a 404 keeps the connection usable */
	ck_assert(resp_header(r, "connection", v, sizeof(v)));
	ck_assert_str_eq(v, "keep-alive");
	cli_sends(c, "GET /fast HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_str_eq(r->body, "fast");
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_method_not_allowed)
{
	struct resp *r = resp_new();
	char v[64];
	struct cli *c = roundtrip("PUT /v1/jobs/a/shots/1 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", r);

	check_problem(r, 405, "method-not-allowed", "Method Not Allowed");
	ck_assert(resp_header(r, "allow", v, sizeof(v)));
	ck_assert_str_eq(v, "GET, DELETE");
	cli_close(c);
	/* the other method on that path works */
	c = roundtrip("DELETE /v1/jobs/a/shots/1 HTTP/1.1\r\n\r\n", r);
	ck_assert_int_eq(r->status, 200);
	ck_assert(strstr(r->body, "\"method\":\"DELETE\"") != NULL);
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_problem_fields)
{
	struct resp *r = resp_new();
	struct cli *c = roundtrip("GET /problem?field=input.text HTTP/1.1\r\n\r\n", r);

	check_problem(r, 422, "invalid-input", "Invalid input");
	cJSON *o = cJSON_Parse(r->body);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "detail")->valuestring, "text is empty");
	ck_assert_str_eq(cJSON_GetObjectItem(o, "field")->valuestring, "input.text");
	cJSON_Delete(o);
	cli_sends(c, "GET /problem HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	o = cJSON_Parse(r->body);
	ck_assert_ptr_null(cJSON_GetObjectItem(o, "field"));
	cJSON_Delete(o);
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_body_too_large)
{
	struct resp *r = resp_new();
	char v[64];
	/* only the head is sent: the answer must not wait for the body */
	struct cli *c = roundtrip("POST /echo HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n", r);

	check_problem(r, 413, "payload-too-large", "Content Too Large");
	ck_assert(resp_header(r, "connection", v, sizeof(v)));
	ck_assert_str_eq(v, "close");
	ck_assert(cli_closed(c));
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_chunked_too_large)
{
	struct resp *r = resp_new();
	char chunk[700];
	struct cli *c = cli_open();

	memset(chunk, 'a', sizeof(chunk));
	cli_sends(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 2; i++) {
		cli_sends(c, "2bc\r\n");
		cli_send(c, chunk, sizeof(chunk));
		cli_sends(c, "\r\n");
	}
	ck_assert_int_eq(read_resp(c, r, false), 0);
	check_problem(r, 413, "payload-too-large", "Content Too Large");
	ck_assert(cli_closed(c));
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_body_to_file)
{
	struct resp *r = resp_new();
	char v[64], body[1500];
	struct cli *c = cli_open();

	/* over max_body (1024) but within the hook's limit: on disk, not in memory */
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)('a' + i % 26);
	cli_sends(c, "PUT /file HTTP/1.1\r\nContent-Length: 1500\r\n\r\n");
	cli_send(c, body, 700);
	usleep(20000);
	cli_send(c, body + 700, sizeof(body) - 700);
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, sizeof(body));
	ck_assert(!memcmp(r->body, body, sizeof(body)));
	ck_assert(resp_header(r, "x-body", v, sizeof(v)));
	ck_assert_str_eq(v, "1500/1");

	/* the next request on the connection gets a file of its own, chunked this time */
	cli_sends(c, "PUT /file HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, 3);
	ck_assert(resp_header(r, "x-body", v, sizeof(v)));
	ck_assert_str_eq(v, "3/1");
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_body_file_limit)
{
	struct resp *r = resp_new();
	char chunk[900];
	/* a declared length over the hook's limit is refused before any body byte */
	struct cli *c = roundtrip("PUT /file HTTP/1.1\r\nContent-Length: 2001\r\n\r\n", r);
	check_problem(r, 413, "payload-too-large", "Content Too Large");
	cli_close(c);

	/* a chunked body that grows past it is refused, its file removed (teardown checks) */
	c = cli_open();
	memset(chunk, 'z', sizeof(chunk));
	cli_sends(c, "PUT /file HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 3; i++) {
		cli_sends(c, "384\r\n");
		cli_send(c, chunk, sizeof(chunk));
		cli_sends(c, "\r\n");
	}
	ck_assert_int_eq(read_resp(c, r, false), 0);
	check_problem(r, 413, "payload-too-large", "Content Too Large");
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_headers_too_large)
{
	struct resp *r = resp_new();
	size_t n = 6000;
	char *req = malloc(n + 64);
	struct cli *c = cli_open();

	int at = snprintf(req, 64, "GET /fast HTTP/1.1\r\nX-Big: ");
	memset(req + at, 'a', n);
	memcpy(req + at + n, "\r\n\r\n", 5);
	cli_sends(c, req);
	ck_assert_int_eq(read_resp(c, r, false), 0);
	check_problem(r, 431, "headers-too-large", "Request Header Fields Too Large");
	ck_assert(cli_closed(c));
	cli_close(c);

	/* too many small headers is the same */
	c = cli_open();
	cli_sends(c, "GET /fast HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		cli_sends(c, "A: b\r\n");
	cli_sends(c, "\r\n");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_int_eq(r->status, 431);
	cli_close(c);
	free(req);
	free(r);
}
END_TEST

START_TEST(test_garbage)
{
	struct resp *r = resp_new();
	char v[64];
	struct cli *c = roundtrip("\x01\x02 nonsense\r\n\r\n", r);

	check_problem(r, 400, "bad-request", "Bad Request");
	ck_assert(resp_header(r, "connection", v, sizeof(v)));
	ck_assert_str_eq(v, "close");
	ck_assert(cli_closed(c));
	cli_close(c);
	/* a bad request after a good one on the same connection */
	c = roundtrip("GET /fast HTTP/1.1\r\n\r\nGET /fast HTTP/9.9\r\n\r\n", r);
	ck_assert_str_eq(r->body, "fast");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_int_eq(r->status, 400);
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_path_traversal)
{
	static const char *bad[] = { "/v1/files/..%2Fetc%2Fpasswd",
				     "/v1/files/%2e%2e/x",
				     "/v1/files/a/../b",
				     "/v1/files/a%00b",
				     "/v1/files/a%2F.",
				     "/v1/files/bad%zz" };
	struct resp *r = resp_new();
	char req[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", bad[i]);
		struct cli *c = roundtrip(req, r);
		ck_assert_msg(r->status == 400, "%s gave %d", bad[i], r->status);
		cli_close(c);
	}
	struct cli *c = roundtrip("GET /v1/files/ok%20name/..x/b.mp4 HTTP/1.1\r\n\r\n", r);
	ck_assert_int_eq(r->status, 200);
	ck_assert(strstr(r->body, "\"params\":[\"ok name/..x/b.mp4\"]") != NULL);
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_keep_alive)
{
	struct resp *r = resp_new();
	struct cli *c = roundtrip("GET /fast HTTP/1.1\r\nHost: a\r\n\r\n", r);

	ck_assert_str_eq(r->body, "fast");
	cli_sends(c, "GET /v1/jobs/k/shots/9 HTTP/1.1\r\nHost: a\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert(strstr(r->body, "[\"k\",\"9\"]") != NULL);
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_pipelining_in_order)
{
	struct resp *r = resp_new();
	struct cli *c = cli_open();

	/* the first answer comes late (timer); the others must wait for it */
	cli_sends(c, "GET /slow HTTP/1.1\r\n\r\nGET /fast HTTP/1.1\r\n\r\n"
		     "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
		     "GET /slow HTTP/1.1\r\n\r\nGET /v1/jobs/p/shots/1 HTTP/1.1\r\n\r\n");
	const char *want[] = { "slow", "fast", "abc", "slow" };
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(read_resp(c, r, false), 0);
		ck_assert_int_eq(r->status, 200);
		ck_assert_str_eq(r->body, want[i]);
	}
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert(strstr(r->body, "[\"p\",\"1\"]") != NULL);
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_split_head)
{
	static const char *parts[] = { "GET /v1/jobs/a", "bc/shots/7 HT", "TP/1.1\r\nHo", "st: x\r\nX-Te",
				       "st: sp",         "lit\r\n",       "\r",           "\n" };
	struct resp *r = resp_new();
	struct cli *c = cli_open();

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		cli_sends(c, parts[i]);
		usleep(15000);
	}
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert(strstr(r->body, "[\"abc\",\"7\"]") != NULL);
	ck_assert(strstr(r->body, "\"x_test\":\"split\"") != NULL);
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_connection_close_and_http10)
{
	struct resp *r = resp_new();
	char v[64];
	struct cli *c = roundtrip("GET /fast HTTP/1.1\r\nConnection: close\r\n\r\n", r);

	ck_assert_str_eq(r->body, "fast");
	ck_assert(resp_header(r, "connection", v, sizeof(v)));
	ck_assert_str_eq(v, "close");
	ck_assert(cli_closed(c));
	cli_close(c);

	c = roundtrip("GET /fast HTTP/1.0\r\n\r\n", r);
	ck_assert_str_eq(r->body, "fast");
	ck_assert(resp_header(r, "connection", v, sizeof(v)));
	ck_assert_str_eq(v, "close");
	ck_assert(cli_closed(c));
	cli_close(c);

	/* HTTP/1.0 asking for keep-alive gets it */
	c = roundtrip("GET /fast HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", r);
	ck_assert(resp_header(r, "connection", v, sizeof(v)));
	ck_assert_str_eq(v, "keep-alive");
	cli_sends(c, "GET /fast HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_str_eq(r->body, "fast");
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_half_close)
{
	struct resp *r = resp_new();
	struct cli *c = cli_open();

	cli_sends(c, "GET /fast HTTP/1.1\r\n\r\nGET /slow HTTP/1.1\r\n\r\n");
	shutdown(c->fd, SHUT_WR);
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_str_eq(r->body, "fast");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_str_eq(r->body, "slow");
	ck_assert(cli_closed(c));
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_head_request)
{
	struct resp *r = resp_new();
	char v[64];
	struct cli *c = cli_open();

	cli_sends(c, "HEAD /fast HTTP/1.1\r\n\r\nGET /fast HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, true), 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert(resp_header(r, "content-length", v, sizeof(v)));
	ck_assert_str_eq(v, "4");
	/* no body followed: the next bytes are the next response */
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(r->body, "fast");
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_stream)
{
	struct resp *r = resp_new();
	char v[64];
	struct cli *c = roundtrip("GET /sse HTTP/1.1\r\n\r\n", r);

	ck_assert_int_eq(r->status, 200);
	ck_assert(resp_header(r, "transfer-encoding", v, sizeof(v)));
	ck_assert_str_eq(v, "chunked");
	ck_assert(resp_header(r, "content-type", v, sizeof(v)));
	ck_assert_str_eq(v, "text/event-stream");
	ck_assert(resp_header(r, "cache-control", v, sizeof(v)));
	ck_assert_str_eq(v, "no-store");
	ck_assert(!resp_header(r, "content-length", v, sizeof(v)));
	ck_assert_str_eq(r->body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
	/* the connection carries on after the stream */
	cli_sends(c, "GET /fast HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_str_eq(r->body, "fast");
	cli_close(c);

	/* HTTP/1.0 gets the raw stream, ended by the close */
	c = roundtrip("GET /sse HTTP/1.0\r\n\r\n", r);
	ck_assert(!resp_header(r, "transfer-encoding", v, sizeof(v)));
	ck_assert_str_eq(r->body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_abort_on_disconnect)
{
	struct resp *r = resp_new();
	struct cli *c = cli_open();

	cli_sends(c, "GET /hold HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, true), 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_int_eq(cli_need(c, 3 + 13 + 2), 0);
	ck_assert(!memcmp(c->buf, "d\r\ndata: hello\n\n\r\n", 18));
	ck_assert_int_eq(abort_count, 0);
	cli_close(c);
	wait_for(&abort_count, 1);
	ck_assert_int_eq(abort_matched, 1);
	usleep(100000);
	ck_assert_int_eq(abort_count, 1);
	free(r);
}
END_TEST

START_TEST(test_abort_on_server_free)
{
	struct resp *r = resp_new();
	struct cli *c = cli_open();

	cli_sends(c, "GET /hold HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, true), 0);
	ck_assert_int_eq(r->status, 200);
	/* the stream never ends on its own: teardown frees the server under it */
	teardown();
	ck_assert_int_eq(abort_count, 1);
	ck_assert_int_eq(abort_matched, 1);
	ck_assert_int_eq(cli_need(c, 18), 0); /* the first event, then the close */
	cli_consume(c, 18);
	ck_assert(cli_closed(c));
	cli_close(c);
	free(r);
	setup(); /* for the fixture's own teardown */
}
END_TEST

START_TEST(test_stream_write_fails_after_disconnect)
{
	struct resp *r = resp_new();
	struct cli *c = cli_open();

	cli_sends(c, "GET /spray HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, true), 0);
	ck_assert_int_eq(r->status, 200);
	cli_close(c);
	wait_for(&write_failed, 1);
	/* the server is still fine */
	c = roundtrip("GET /fast HTTP/1.1\r\n\r\n", r);
	ck_assert_str_eq(r->body, "fast");
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_reply_after_disconnect)
{
	struct resp *r = resp_new();
	struct cli *c = cli_open();

	cli_sends(c, "GET /late HTTP/1.1\r\n\r\n");
	cli_close(c);
	wait_for(&late_done, 1);
	c = roundtrip("GET /fast HTTP/1.1\r\n\r\n", r);
	ck_assert_str_eq(r->body, "fast");
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_idle_timeout)
{
	struct cli *c = cli_open();
	struct timespec a, b;
	struct resp *r = resp_new();

	/* activity keeps it open... */
	for (int i = 0; i < 3; i++) {
		usleep(200000);
		cli_sends(c, "GET /fast HTTP/1.1\r\n\r\n");
		ck_assert_int_eq(read_resp(c, r, false), 0);
	}
	/* ...silence closes it */
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert(cli_closed(c));
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 300);
	ck_assert_int_lt(ms, 3000);
	cli_close(c);
	free(r);
}
END_TEST

/* A request that does not arrive whole in time gets 408 and a close, even
 * when its bytes trickle in often enough to keep the connection "active". */
START_TEST(test_request_timeout)
{
	struct resp *r = resp_new();
	struct cli *c = cli_open();

	cli_sends(c, "GET /fast HTTP/1.1\r\nHost: x\r\n");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	check_problem(r, 408, "request-timeout", "Request Timeout");
	ck_assert(cli_closed(c));
	cli_close(c);

	c = cli_open();
	cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 50\r\n\r\n");
	for (int i = 0; i < 12; i++) {
		usleep(100000);
		cli_sends(c, "x");
	}
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_int_eq(r->status, 408);
	cli_close(c);

	/* a whole request in pieces within the limit is served */
	c = cli_open();
	cli_sends(c, "GET /fast HTTP/1.1\r\n");
	usleep(300000);
	cli_sends(c, "Host: x\r\n\r\n");
	ck_assert_int_eq(read_resp(c, r, false), 0);
	ck_assert_int_eq(r->status, 200);
	cli_close(c);
	free(r);
}
END_TEST

START_TEST(test_bad_addresses)
{
	static const char *bad[] = { "nonsense", "127.0.0.1:99999", "127.0.0.1:", "300.1.1.1:80", "[::1:80" };
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_ptr_null(http_server_new(NULL, bad[i], routes, 1, NULL, NULL, err, sizeof(err)));
		ck_assert_msg(strstr(err, bad[i]) != NULL, "%s: %s", bad[i], err);
	}
	static const struct http_route too_many = { "GET", "/{a}/{b}/{c}/{d}/{e}", h_fast };
	ck_assert_ptr_null(http_server_new(NULL, "127.0.0.1:0", &too_many, 1, NULL, NULL, err, sizeof(err)));
	ck_assert(strstr(err, "/{a}/{b}") != NULL);
	/* the port is taken by the fixture's server; a loop of our own, since
	 * the fixture's runs in another thread */
	uv_loop_t mine;
	char addr[32];
	ck_assert_int_eq(uv_loop_init(&mine), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ck_assert_ptr_null(http_server_new(&mine, addr, routes, 1, NULL, NULL, err, sizeof(err)));
	ck_assert(strstr(err, "listen") != NULL);
	uv_run(&mine, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&mine), 0);
}
END_TEST

static Suite *http_server_suite(void)
{
	Suite *s = suite_create("http_server");
	TCase *pure = tcase_create("pure");
	TCase *tc = tcase_create("wire");

	tcase_add_test(pure, test_match_route);
	suite_add_tcase(s, pure);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_get_params);
	tcase_add_test(tc, test_post_body);
	tcase_add_test(tc, test_query);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_method_not_allowed);
	tcase_add_test(tc, test_problem_fields);
	tcase_add_test(tc, test_body_too_large);
	tcase_add_test(tc, test_chunked_too_large);
	tcase_add_test(tc, test_body_to_file);
	tcase_add_test(tc, test_body_file_limit);
	tcase_add_test(tc, test_headers_too_large);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_path_traversal);
	tcase_add_test(tc, test_keep_alive);
	tcase_add_test(tc, test_pipelining_in_order);
	tcase_add_test(tc, test_split_head);
	tcase_add_test(tc, test_connection_close_and_http10);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_head_request);
	tcase_add_test(tc, test_stream);
	tcase_add_test(tc, test_abort_on_disconnect);
	tcase_add_test(tc, test_abort_on_server_free);
	tcase_add_test(tc, test_stream_write_fails_after_disconnect);
	tcase_add_test(tc, test_reply_after_disconnect);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_request_timeout);
	tcase_add_test(tc, test_bad_addresses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_server_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
