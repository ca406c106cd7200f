/*
 * Unit tests for common/http_server, connections: keep-alive, pipelining in
 * order, heads split across reads, Connection: close and HTTP/1.0, half
 * close, HEAD, streamed (SSE) answers and what happens when the client or
 * the server goes away mid-exchange.
 */
#include "http_server_fixture.h"

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

static Suite *http_server_conn_suite(void)
{
	Suite *s = suite_create("http_server_conn");
	TCase *tc = tcase_create("wire");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
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
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_suite(http_server_conn_suite());
}
