/*
 * Unit tests for finding a lost render submission: the task key (stable
 * across attempts, new for each recorded vendor task, shaped as a UUID),
 * Replicate's prediction list matched by the key in the webhook URL and
 * paged on, and ComfyUI's /history and /queue answers under our prompt_id.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vendors/comfyui_api.h"
#include "json.h"
#include "render_provider.h"
#include "banned.h"

#define JOB "0b5e7c1a-4f2d-4c3b-9a8e-112233445566"

static struct render_shot shot(int index, bool video, const char *prompt, int generation)
{
	return (struct render_shot){ .prompt = (char *)prompt,
				     .video = video,
				     .seed = 42,
				     .job = JOB,
				     .index = index,
				     .generation = generation };
}

static void key_of(struct render_shot s, char out[RENDER_TASK_KEY_LEN])
{
	render_provider_task_key(&s, out);
}

START_TEST(test_task_key)
{
	char a[RENDER_TASK_KEY_LEN], b[RENDER_TASK_KEY_LEN];
	key_of(shot(3, false, "a fox", 0), a);
	ck_assert_uint_eq(strlen(a), 36);
	ck_assert(strncmp(a, JOB, 24) == 0 && a[8] == '-' && a[23] == '-');
	for (size_t i = 24; i < 36; i++)
		ck_assert_msg(strchr("0123456789abcdef", a[i]), "%s", a);
	key_of(shot(3, false, "a fox", 0), b);
	ck_assert_str_eq(a, b); /* every attempt at the same picture */
	key_of(shot(3, false, "a fox", 1), b);
	ck_assert_str_ne(a, b); /* a recorded task makes the next one new */
	key_of(shot(4, false, "a fox", 0), b);
	ck_assert_str_ne(a, b);
	key_of(shot(3, true, "a fox", 0), b);
	ck_assert_str_ne(a, b);
	key_of(shot(3, false, "a cat", 0), b);
	ck_assert_str_ne(a, b);
}
END_TEST

static char replicate_base[] = "http://r/v1", replicate_token[] = "r8", comfyui_url[] = "http://c";
static struct vendors vendors = { .replicate_base_url = replicate_base,
				  .replicate_token = replicate_token,
				  .comfyui_url = comfyui_url };
static const struct render_state state = { .vendors = &vendors };

START_TEST(test_replicate_found)
{
	const char *page =
		"{\"next\":\"http://r/v1/predictions?cursor=2\",\"results\":["
		"{\"id\":\"p1\",\"status\":\"processing\",\"webhook\":\"http://h/webhooks/replicate?task=K2\"},"
		"{\"id\":\"p2\",\"status\":\"succeeded\",\"output\":[\"http://o/x.png\"],"
		"\"webhook\":\"http://h/webhooks/replicate?job=j&shot=0&task=K1\"}]}";
	struct vendor_result r = { 0 };
	char err[128], *next = NULL;
	ck_assert_int_eq(
		render_provider_find("replicate")->found(&state, "K1", page, strlen(page), &r, &next, err, sizeof(err)),
		1);
	ck_assert_str_eq(r.id, "p2");
	ck_assert_int_eq(r.state, VENDOR_SUCCEEDED);
	ck_assert_ptr_null(next);
	vendors_result_release(&r);
	ck_assert_int_eq(
		render_provider_find("replicate")->found(&state, "K3", page, strlen(page), &r, &next, err, sizeof(err)),
		0);
	ck_assert_str_eq(next, "http://r/v1/predictions?cursor=2");
	free(next);
	const char *last = "{\"next\":null,\"results\":[]}";
	ck_assert_int_eq(
		render_provider_find("replicate")->found(&state, "K3", last, strlen(last), &r, &next, err, sizeof(err)),
		0);
	ck_assert_ptr_null(next);
	ck_assert_int_eq(render_provider_find("replicate")->found(&state, "K3", "{}", 2, &r, &next, err, sizeof(err)),
			 -1);
	struct render_request rq = { 0 };
	render_provider_find("replicate")->find(&state, "K1", NULL, &rq);
	ck_assert_str_eq(rq.method, "GET");
	ck_assert_str_eq(rq.url, "http://r/v1/predictions");
	ck_assert_uint_eq(rq.n_headers, 2);
	ck_assert_str_eq(rq.headers[1], "Authorization: Bearer r8");
	free(rq.url);
	for (size_t i = 0; i < rq.n_headers; i++)
		free(rq.headers[i]);
}
END_TEST

START_TEST(test_comfyui_found)
{
	struct vendor_result r = { 0 };
	char err[128], *next = NULL;
	const char *history = "{\"K1\":{\"outputs\":{},\"status\":{\"completed\":true}}}";
	ck_assert_int_eq(render_provider_find("comfyui")->found(&state, "K1", history, strlen(history), &r, &next, err,
								sizeof(err)),
			 1);
	ck_assert_str_eq(r.id, "K1");
	ck_assert_str_eq(r.get_url, "http://c/history/K1");
	vendors_result_release(&r);
	/* Not finished: on to the queue. */
	ck_assert_int_eq(render_provider_find("comfyui")->found(&state, "K1", "{}", 2, &r, &next, err, sizeof(err)), 0);
	ck_assert_str_eq(next, "http://c/queue");
	free(next);
	const char *queue = "{\"queue_running\":[[1,\"K9\",{},{},[]]],\"queue_pending\":[[2,\"K1\",{},{},[]]]}";
	ck_assert_int_eq(render_provider_find("comfyui")->found(&state, "K1", queue, strlen(queue), &r, &next, err,
								sizeof(err)),
			 1);
	ck_assert_ptr_null(next);
	vendors_result_release(&r);
	ck_assert_int_eq(render_provider_find("comfyui")->found(&state, "K2", queue, strlen(queue), &r, &next, err,
								sizeof(err)),
			 0);
	ck_assert_ptr_null(next); /* neither finished nor waiting: never reached ComfyUI */
	ck_assert_int_eq(render_provider_find("comfyui")->found(&state, "K2", "[]", 2, &r, &next, err, sizeof(err)),
			 -1);
}
END_TEST

START_TEST(test_comfyui_prompt_id_sent)
{
	const char *tpl = "{\"3\":{\"inputs\":{\"text\":\"{{prompt}}\"}}}";
	struct comfyui_vars v = { .prompt = "a fox", .prompt_id = "K1" };
	char err[128];
	char *body = comfyui_api_prompt_body(tpl, strlen(tpl), &v, "c-1", err, sizeof(err));
	cJSON *j = json_parse(body, strlen(body));
	ck_assert_str_eq(json_str(j, "prompt_id"), "K1");
	cJSON_Delete(j);
	free(body);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("render_lookup");
	TCase *tc = tcase_create("lookup");
	tcase_add_test(tc, test_task_key);
	tcase_add_test(tc, test_replicate_found);
	tcase_add_test(tc, test_comfyui_found);
	tcase_add_test(tc, test_comfyui_prompt_id_sent);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
