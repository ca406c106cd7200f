/*
 * Unit tests for common/http_client: the client and a common/http_server on
 * an ephemeral port share one libuv loop in the test process, so answers,
 * headers, timeouts, size caps, cancellation and many calls at once are
 * checked over real sockets, and bodies streamed into files (body_path)
 * arrive whole, capped, and leave no file behind when the call fails.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "http_client.h"
#include "http_server.h"
#include "metrics.h"
#include "banned.h"

static uv_loop_t loop;
static struct http_server *srv;
static struct http_client *cli;
static int port, server_busy, server_busy_max;

struct later {
	uv_timer_t timer;
	struct http_exchange *x;
};

static void h_hello(struct http_exchange *x, void *arg)
{
	(void)arg;
	http_add_header(x, "X-Demo", "yes");
	http_reply(x, 200, "text/plain", "hello", 5);
}

static void h_echo(struct http_exchange *x, void *arg)
{
	struct http_request *rq = http_request_of(x);
	const char *auth = http_header(rq, "authorization");
	(void)arg;
	http_add_header(x, "X-Auth", auth ? auth : "none");
	http_reply(x, 201, "application/json", rq->body, rq->body_len);
}

static void h_big(struct http_exchange *x, void *arg)
{
	char *body = malloc(100000);
	(void)arg;
	memset(body, 'a', 100000);
	http_reply(x, 200, "text/plain", body, 100000);
	free(body);
}

/* 64 chunks of 4 KiB with no Content-Length: only counting the bytes catches an oversize answer. */
static void h_chunked(struct http_exchange *x, void *arg)
{
	char chunk[4096];
	(void)arg;
	memset(chunk, 'c', sizeof(chunk));
	http_stream_start(x, 200, "application/octet-stream");
	for (int i = 0; i < 64; i++)
		if (http_stream_write(x, chunk, sizeof(chunk)) < 0)
			return;
	http_stream_end(x);
}

static void h_busy(struct http_exchange *x, void *arg)
{
	(void)arg;
	http_add_header(x, "Retry-After", "3");
	http_reply(x, 429, "application/json", "{}", 2);
}

static void free_later(uv_handle_t *h)
{
	free(h->data);
}

static void on_later(uv_timer_t *t)
{
	struct later *l = t->data;
	server_busy--;
	http_reply(l->x, 200, "text/plain", "late", 4);
	uv_close((uv_handle_t *)&l->timer, free_later);
}

/* Answers after ?ms= milliseconds (default 300), counting how many wait at once. */
static void h_slow(struct http_exchange *x, void *arg)
{
	char buf[16];
	struct later *l = calloc(1, sizeof(*l));
	const char *ms = http_query(http_request_of(x), "ms", buf, sizeof(buf));
	(void)arg;
	l->x = x;
	uv_timer_init(&loop, &l->timer);
	l->timer.data = l;
	if (++server_busy > server_busy_max)
		server_busy_max = server_busy;
	uv_timer_start(&l->timer, on_later, ms ? (uint64_t)atoi(ms) : 300, 0);
}

static const struct http_route routes[] = {
	{ "GET", "/hello", h_hello }, { "POST", "/echo", h_echo }, { "GET", "/big", h_big },
	{ "GET", "/busy", h_busy },   { "GET", "/slow", h_slow },  { "GET", "/chunked", h_chunked },
};

struct result {
	int calls, status;
	enum http_client_outcome outcome;
	char body[256], header[64];
	size_t body_len;
	int *remaining;
};

static void on_done(const struct http_client_response *r, void *arg)
{
	struct result *res = arg;
	const char *h = http_client_header(r, "x-demo");
	if (!h)
		h = http_client_header(r, "x-auth");
	if (!h)
		h = http_client_header(r, "retry-after");
	res->calls++;
	res->status = r->status;
	res->outcome = r->outcome;
	res->body_len = r->body_len;
	snprintf(res->body, sizeof(res->body), "%s", r->body);
	snprintf(res->header, sizeof(res->header), "%s", h ? h : "");
	if (res->remaining && --*res->remaining == 0)
		uv_stop(&loop);
}

static void setup(void)
{
	char err[256];
	uv_loop_init(&loop);
	srv = http_server_new(&loop, "127.0.0.1:0", routes, sizeof(routes) / sizeof(routes[0]), NULL, NULL, err,
			      sizeof(err));
	ck_assert_msg(srv != NULL, "%s", err);
	port = http_server_port(srv);
	cli = http_client_new(&loop);
	server_busy = server_busy_max = 0;
}

static void teardown(void)
{
	http_client_free(cli);
	http_server_free(srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static char *url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", port, path);
}

/* Runs one request to the end and returns its result. */
static struct result fetch(struct http_client_request rq)
{
	int remaining = 1;
	struct result res = { .remaining = &remaining };
	ck_assert_ptr_nonnull(http_client_start(cli, &rq, on_done, &res));
	ck_assert_int_eq(res.calls, 0); /* never called back from inside start */
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(res.calls, 1);
	ck_assert_uint_eq(http_client_in_flight(cli), 0);
	return res;
}

START_TEST(test_get)
{
	char *u = url("/hello");
	struct result r = fetch((struct http_client_request){ .url = u });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_DONE);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "hello");
	ck_assert_str_eq(r.header, "yes");
	free(u);
}
END_TEST

START_TEST(test_post_with_headers)
{
	char *u = url("/echo");
	const char *headers[] = { "Authorization: Bearer sk-test", "Content-Type: application/json" };
	struct result r = fetch((struct http_client_request){
		.url = u, .headers = headers, .n_headers = 2, .body = "{\"a\":1}", .body_len = 7 });
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(r.body, "{\"a\":1}");
	ck_assert_str_eq(r.header, "Bearer sk-test");
	free(u);
}
END_TEST

START_TEST(test_retry_after_header)
{
	char *u = url("/busy");
	struct result r = fetch((struct http_client_request){ .url = u });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_DONE);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(r.header, "3");
	free(u);
}
END_TEST

START_TEST(test_timeout)
{
	char *u = url("/slow?ms=3000");
	struct result r = fetch((struct http_client_request){ .url = u, .timeout_ms = 200 });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_TIMEOUT);
	ck_assert_int_eq(r.status, 0);
	free(u);
}
END_TEST

START_TEST(test_size_cap)
{
	char *u = url("/big");
	struct result r = fetch((struct http_client_request){ .url = u, .max_response = 1000 });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_TOO_LARGE);
	ck_assert_uint_le(r.body_len, 1000);
	r = fetch((struct http_client_request){ .url = u, .max_response = 100000 });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_DONE);
	ck_assert_uint_eq(r.body_len, 100000);
	free(u);
}
END_TEST

START_TEST(test_refused)
{
	/* Port 1 on loopback has no listener. */
	struct result r = fetch((struct http_client_request){ .url = "http://127.0.0.1:1/" });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_FAILED);
	ck_assert_int_eq(r.status, 0);
}
END_TEST

/* Every call is counted by vendor (given, else the URL's host) and status. */
START_TEST(test_metrics_by_vendor)
{
	char *u = url("/busy");
	fetch((struct http_client_request){ .url = u, .vendor = "acme" });
	fetch((struct http_client_request){ .url = u, .vendor = "acme" });
	fetch((struct http_client_request){ .url = "http://127.0.0.1:1/" });
	char *t = metrics_render();
	ck_assert_ptr_nonnull(strstr(t, "reel_provider_requests_total{vendor=\"acme\",status=\"429\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "reel_provider_errors_total{vendor=\"acme\",status=\"429\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "reel_provider_request_duration_seconds_count{vendor=\"acme\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "reel_provider_errors_total{vendor=\"127.0.0.1:1\",status=\"failed\"} 1\n"));
	free(t);
	free(u);
}
END_TEST

START_TEST(test_cancel)
{
	char *slow = url("/slow?ms=300"), *hello = url("/hello");
	int remaining = 1;
	struct result canceled = { 0 }, other = { .remaining = &remaining };
	struct http_client_call *c = http_client_start(cli, &(struct http_client_request){ .url = slow }, on_done,
						       &canceled);
	ck_assert_ptr_nonnull(http_client_start(cli, &(struct http_client_request){ .url = hello }, on_done, &other));
	http_client_cancel(c);
	ck_assert_uint_eq(http_client_in_flight(cli), 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(other.calls, 1);
	ck_assert_int_eq(canceled.calls, 0);
	free(slow);
	free(hello);
}
END_TEST

START_TEST(test_many_at_once)
{
	enum { N = 60 };
	char *u = url("/slow?ms=400");
	int remaining = N;
	struct result *res = calloc(N, sizeof(*res));
	for (int i = 0; i < N; i++) {
		res[i].remaining = &remaining;
		ck_assert_ptr_nonnull(
			http_client_start(cli, &(struct http_client_request){ .url = u }, on_done, &res[i]));
	}
	ck_assert_uint_eq(http_client_in_flight(cli), N);
	uv_run(&loop, UV_RUN_DEFAULT);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(res[i].status, 200);
		ck_assert_str_eq(res[i].body, "late");
	}
	/* All were waiting on the server at the same time: the calls overlap. */
	ck_assert_int_eq(server_busy_max, N);
	free(res);
	free(u);
}
END_TEST

START_TEST(test_free_with_calls_in_flight)
{
	char *u = url("/slow?ms=5000");
	struct result r = { 0 };
	ck_assert_ptr_nonnull(http_client_start(cli, &(struct http_client_request){ .url = u }, on_done, &r));
	uv_run(&loop, UV_RUN_NOWAIT);
	http_client_free(cli);
	cli = http_client_new(&loop);
	ck_assert_int_eq(r.calls, 0);
	free(u);
}
END_TEST

/* A fresh path in the test's temporary folder; the caller frees. */
static char *temp_path(const char *name)
{
	const char *dir = getenv("TMPDIR");
	return xasprintf("%s/reel-http-client-%d-%s", dir && *dir ? dir : "/tmp", (int)getpid(), name);
}

/* The file's size, or -1 when it does not exist. */
static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

START_TEST(test_body_to_file)
{
	char *u = url("/big"), *path = temp_path("big"), buf[100001];
	struct result r = fetch((struct http_client_request){ .url = u, .body_path = path, .max_response = 200000 });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_DONE);
	ck_assert_str_eq(r.body, ""); /* nothing held in memory */
	ck_assert_uint_eq(r.body_len, 100000);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(buf, 1, sizeof(buf), f), 100000);
	fclose(f);
	for (size_t i = 0; i < 100000; i++)
		ck_assert_int_eq(buf[i], 'a');
	unlink(path);
	free(path);
	free(u);
}
END_TEST

START_TEST(test_body_to_file_capped)
{
	char *announced = url("/big"), *streamed = url("/chunked"), *path = temp_path("capped");
	struct result r = fetch(
		(struct http_client_request){ .url = announced, .body_path = path, .max_response = 1000 });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_TOO_LARGE);
	ck_assert_int_eq(file_size(path), -1);
	r = fetch((struct http_client_request){ .url = streamed, .body_path = path, .max_response = 100000 });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_TOO_LARGE);
	ck_assert_uint_le(r.body_len, 100000);
	ck_assert_int_eq(file_size(path), -1);
	r = fetch((struct http_client_request){ .url = streamed, .body_path = path, .max_response = 64 * 4096 });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_DONE);
	ck_assert_int_eq(file_size(path), 64 * 4096);
	unlink(path);
	free(path);
	free(announced);
	free(streamed);
}
END_TEST

START_TEST(test_body_to_file_failures)
{
	char *slow = url("/slow?ms=3000"), *hello = url("/hello"), *path = temp_path("failed");
	struct result r = fetch((struct http_client_request){ .url = slow, .body_path = path, .timeout_ms = 200 });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_TIMEOUT);
	ck_assert_int_eq(file_size(path), -1);
	r = fetch((struct http_client_request){ .url = hello, .body_path = "/nonexistent-dir/x/body" });
	ck_assert_int_eq(r.outcome, HTTP_CLIENT_FAILED);
	ck_assert_int_eq(r.status, 0);
	struct result canceled = { 0 };
	struct http_client_call *c = http_client_start(
		cli, &(struct http_client_request){ .url = slow, .body_path = path }, on_done, &canceled);
	ck_assert_int_eq(file_size(path), 0);
	http_client_cancel(c);
	ck_assert_int_eq(file_size(path), -1);
	ck_assert_int_eq(canceled.calls, 0);
	free(path);
	free(slow);
	free(hello);
}
END_TEST

static Suite *http_client_suite(void)
{
	Suite *s = suite_create("http_client");
	TCase *tc = tcase_create("wire");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_metrics_by_vendor);
	tcase_add_test(tc, test_post_with_headers);
	tcase_add_test(tc, test_retry_after_header);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_size_cap);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_many_at_once);
	tcase_add_test(tc, test_free_with_calls_in_flight);
	tcase_add_test(tc, test_body_to_file);
	tcase_add_test(tc, test_body_to_file_capped);
	tcase_add_test(tc, test_body_to_file_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_client_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
