/*
 * Unit tests for common/http_server, routing: route matching alone, then on
 * the wire path parameters, bodies, query strings, the problem+json answers
 * for unknown paths and methods, traversal in paths and bad listen addresses.
 */
#include "http_server_fixture.h"

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

static Suite *http_server_routes_suite(void)
{
	Suite *s = suite_create("http_server_routes");
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
	tcase_add_test(tc, test_path_traversal);
	tcase_add_test(tc, test_bad_addresses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_suite(http_server_routes_suite());
}
