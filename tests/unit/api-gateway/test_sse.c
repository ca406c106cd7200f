/*
 * Unit tests for the event-stream side of the gateway: the text of an event
 * (id, event name, the row as JSON on one data line), which kinds end a
 * stream, and an empty hub on a real loop (no stream follows anything; its
 * heartbeat timer closes cleanly).
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "banned.h"

#define JOB "0b0e7f5e-1c55-4c1a-9a7e-7d3c5b1e2f10"

START_TEST(test_format)
{
	const struct sse_event ev = {
		42, JOB, 3, "rendered", "{\"note\": \"two\\nlines\"}", "2026-01-01T00:00:00.000000Z"
	};
	size_t len;
	char *text = sse_format(&ev, &len);
	ck_assert_uint_eq(len, strlen(text));
	static const char head[] = "id: 42\nevent: rendered\ndata: {";
	ck_assert_msg(!strncmp(text, head, strlen(head)), "%s", text);
	ck_assert_str_eq(text + len - 2, "\n\n");
	/* three lines and the blank one: a newline inside the detail stays escaped */
	int lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	ck_assert_int_eq(lines, 4);
	cJSON *data = cJSON_Parse(strstr(text, "data: ") + 6);
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(cJSON_GetObjectItem(data, "seq")->valueint, 42);
	ck_assert_str_eq(cJSON_GetObjectItem(data, "job_id")->valuestring, JOB);
	ck_assert_int_eq(cJSON_GetObjectItem(data, "shot")->valueint, 3);
	ck_assert_str_eq(cJSON_GetObjectItem(data, "kind")->valuestring, "rendered");
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(data, "detail"), "note")->valuestring, "two\nlines");
	cJSON_Delete(data);
	free(text);
}
END_TEST

START_TEST(test_format_job_event_without_detail)
{
	const struct sse_event ev = { 7, JOB, -1, "done", NULL, "2026-01-01T00:00:00.000000Z" };
	size_t len;
	char *text = sse_format(&ev, &len);
	cJSON *data = cJSON_Parse(strstr(text, "data: ") + 6);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(data, "shot")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(data, "detail")));
	cJSON_Delete(data);
	free(text);
	/* a kind with a line break would split the event: it is left unnamed */
	const struct sse_event odd = { 8, JOB, -1, "x\nevent: forged", NULL, "t" };
	text = sse_format(&odd, &len);
	ck_assert_ptr_null(strstr(text, "\nevent: "));
	free(text);
}
END_TEST

START_TEST(test_final_kinds)
{
	ck_assert(sse_is_final("done", -1));
	ck_assert(sse_is_final("failed", -1));
	ck_assert(sse_is_final("canceled", -1));
	ck_assert(!sse_is_final("failed", 2)); /* a shot failing pauses its job; the stream goes on */
	ck_assert(!sse_is_final("paused", -1));
	ck_assert(!sse_is_final("merging", -1));
}
END_TEST

START_TEST(test_empty_hub)
{
	uv_loop_t loop;
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	struct sse_hub *h = sse_hub_new(&loop, 10);
	ck_assert_uint_eq(sse_hub_count(h), 0);
	ck_assert(!sse_hub_follows(h, JOB));
	const struct sse_event ev = { 1, JOB, -1, "done", NULL, "t" };
	sse_dispatch(h, &ev, false); /* nobody follows: nothing happens */
	uv_run(&loop, UV_RUN_NOWAIT);
	sse_hub_free(h);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static Suite *sse_suite(void)
{
	Suite *s = suite_create("sse");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_format_job_event_without_detail);
	tcase_add_test(tc, test_final_kinds);
	tcase_add_test(tc, test_empty_hub);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sse_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
