/*
 * Unit tests for common/http_server, limits: bodies and headers over their
 * caps, bodies streamed to a file, garbage on the wire, and the idle and
 * request timeouts.
 */
#include "http_server_fixture.h"

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

static Suite *http_server_limits_suite(void)
{
	Suite *s = suite_create("http_server_limits");
	TCase *tc = tcase_create("wire");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_body_too_large);
	tcase_add_test(tc, test_chunked_too_large);
	tcase_add_test(tc, test_body_to_file);
	tcase_add_test(tc, test_body_file_limit);
	tcase_add_test(tc, test_headers_too_large);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_request_timeout);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_suite(http_server_limits_suite());
}
