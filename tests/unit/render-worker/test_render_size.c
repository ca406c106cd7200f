/*
 * Unit tests for the render-worker's size mapping: each aspect ratio and
 * resolution as Replicate, fal and ComfyUI want their size parameters, the
 * clip length asked of image-to-video models, and ComfyUI templates filled
 * without letting a prompt change the graph.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vendors/comfyui_api.h"
#include "json.h"
#include "media.h"
#include "render_size.h"
#include "vendors/vendors.h"
#include "banned.h"

struct expect {
	const char *aspect, *res;
	int rw, rh, fw, fh, cw, ch;
};

START_TEST(test_vendor_sizes)
{
	static const struct expect cases[] = {
		{ "9:16", "1080p", 816, 1440, 1088, 1920, 768, 1376 },
		{ "16:9", "1080p", 1440, 816, 1920, 1088, 1376, 768 },
		{ "1:1", "1080p", 1088, 1088, 1088, 1088, 1024, 1024 },
		{ "4:5", "1080p", 1088, 1344, 1088, 1344, 928, 1152 },
		{ "9:16", "720p", 720, 1280, 720, 1280, 544, 960 },
		{ "16:9", "720p", 1280, 720, 1280, 720, 960, 544 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct expect *c = &cases[i];
		int fw, fh, w, h;
		ck_assert_int_eq(media_frame_size(c->aspect, c->res, &fw, &fh), 0);
		render_size_replicate(fw, fh, &w, &h);
		ck_assert_msg(w == c->rw && h == c->rh, "replicate %s %s: %dx%d", c->aspect, c->res, w, h);
		ck_assert(w % 16 == 0 && h % 16 == 0 && w <= 1440 && h <= 1440);
		render_size_fal(fw, fh, &w, &h);
		ck_assert_msg(w == c->fw && h == c->fh, "fal %s %s: %dx%d", c->aspect, c->res, w, h);
		render_size_comfyui(fw, fh, &w, &h);
		ck_assert_msg(w == c->cw && h == c->ch, "comfyui %s %s: %dx%d", c->aspect, c->res, w, h);
		ck_assert(w % 32 == 0 && h % 32 == 0);
		/* The aspect ratio survives the rounding within 5%. */
		double want = (double)fw / fh, got = (double)w / h;
		ck_assert_msg(got / want > 0.95 && got / want < 1.05, "comfyui %s: %f vs %f", c->aspect, got, want);
	}
}
END_TEST

START_TEST(test_fit_limits)
{
	int w, h;
	render_size_fit(10, 10, 1440, 16, &w, &h);
	ck_assert(w == 16 && h == 16); /* at least one multiple */
	render_size_fit(1447, 100, 1440, 16, &w, &h);
	ck_assert(w <= 1440 && w % 16 == 0);
}
END_TEST

START_TEST(test_clip_seconds)
{
	ck_assert_int_eq(vendors_clip_seconds("5,10", 3000), 5);
	ck_assert_int_eq(vendors_clip_seconds("5,10", 5000), 5);
	ck_assert_int_eq(vendors_clip_seconds("5,10", 5001), 10);
	ck_assert_int_eq(vendors_clip_seconds("10,5", 4000), 5);
	ck_assert_int_eq(vendors_clip_seconds("5,10", 25000), 10); /* the longest the model allows */
	ck_assert_int_eq(vendors_clip_seconds("", 3000), 5);
	ck_assert_int_eq(vendors_clip_seconds("2,4,6,8", 7000), 8);
}
END_TEST

START_TEST(test_comfyui_template)
{
	const char *tpl = "{\"3\":{\"inputs\":{\"seed\":\"{{seed}}\",\"text\":\"a photo of {{prompt}}\","
			  "\"neg\":\"{{negative}}\",\"w\":\"{{width}}\",\"h\":\"{{height}}\"}}}";
	struct comfyui_vars v = {
		.prompt = "a \"quoted\" fox}, {\"evil\":1", .negative = "blur", .seed = 42, .width = 768, .height = 1344
	};
	char err[128];
	char *body = comfyui_api_prompt_body(tpl, strlen(tpl), &v, "c-1", err, sizeof(err));
	ck_assert_ptr_nonnull(body);
	cJSON *j = json_parse(body, strlen(body));
	const cJSON *in = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "prompt"), "3"), "inputs");
	ck_assert_str_eq(json_str(j, "client_id"), "c-1");
	ck_assert_str_eq(json_str(in, "text"), "a photo of a \"quoted\" fox}, {\"evil\":1");
	ck_assert_str_eq(json_str(in, "neg"), "blur");
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(in, "seed")));
	ck_assert_int_eq(cJSON_GetObjectItem(in, "seed")->valueint, 42);
	ck_assert_int_eq(cJSON_GetObjectItem(in, "h")->valueint, 1344);
	ck_assert_ptr_null(cJSON_GetObjectItem(in, "evil"));
	cJSON_Delete(j);
	free(body);
	ck_assert_ptr_null(comfyui_api_prompt_body("[1]", 3, &v, "c", err, sizeof(err)));
}
END_TEST

START_TEST(test_comfyui_history)
{
	struct vendor_result r;
	char err[128];
	const char *done = "{\"p-1\":{\"outputs\":{\"9\":{\"images\":[{\"filename\":\"job 42.png\",\"subfolder\":\"\","
			   "\"type\":\"output\"}]}},\"status\":{\"status_str\":\"success\",\"completed\":true}}}";
	ck_assert_int_eq(comfyui_api_read_history("{}", 2, "p-1", "http://c", &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.state, VENDOR_RUNNING);
	vendors_result_release(&r);
	ck_assert_int_eq(comfyui_api_read_history(done, strlen(done), "p-1", "http://c", &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.state, VENDOR_SUCCEEDED);
	ck_assert_str_eq(r.outputs[0], "http://c/view?filename=job%2042.png&subfolder=&type=output");
	vendors_result_release(&r);
	const char *bad = "{\"p-1\":{\"outputs\":{},\"status\":{\"status_str\":\"error\",\"completed\":false}}}";
	ck_assert_int_eq(comfyui_api_read_history(bad, strlen(bad), "p-1", "http://c", &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.state, VENDOR_FAILED);
	vendors_result_release(&r);
	/* A type that would add a parameter or a fragment is escaped like the other values. */
	const char *sly = "{\"p-1\":{\"outputs\":{\"9\":{\"images\":[{\"filename\":\"a.png\",\"subfolder\":\"\","
			  "\"type\":\"output&filename=b.png#x\"}]}},\"status\":{\"completed\":true}}}";
	ck_assert_int_eq(comfyui_api_read_history(sly, strlen(sly), "p-1", "http://c", &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.outputs[0], "http://c/view?filename=a.png&subfolder=&type=output%26filename%3Db.png%23x");
	vendors_result_release(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("render_size");
	TCase *tc = tcase_create("sizes");
	tcase_add_test(tc, test_vendor_sizes);
	tcase_add_test(tc, test_fit_limits);
	tcase_add_test(tc, test_clip_seconds);
	tcase_add_test(tc, test_comfyui_template);
	tcase_add_test(tc, test_comfyui_history);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
