/*
 * Unit tests for common/vendors/replicate_api: Standard Webhooks signatures (the
 * reference's test vector, key rotation lists, forged, tampered and stale
 * deliveries, malformed secrets) and predictions read in their output forms.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vendors/replicate_api.h"
#include "banned.h"

#define SECRET "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define BODY "{\"id\":\"q8x2k\",\"status\":\"succeeded\"}"
#define SIG "v1,7fM8koRX8Cvnz9c9Tk2/8HSQhCIWoMDv82Ucs/WwPKY="
#define TS 1735689600

static int verify(const char *secret, const char *id, const char *ts, const char *sigs, const char *body, time_t now,
		  char *why)
{
	return replicate_api_verify(secret, id, ts, sigs, body, strlen(body), now, 300, why, 256);
}

START_TEST(test_reference_vector)
{
	char why[256] = "";
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", "1735689600", SIG, BODY, TS, why), 0);
	char *sig = replicate_api_sign(SECRET, "msg_sim_0001", "1735689600", BODY, strlen(BODY));
	ck_assert_str_eq(sig, SIG);
	free(sig);
}
END_TEST

START_TEST(test_rotation_and_versions)
{
	char why[256];
	/* Unknown versions and other keys' entries are skipped; one match suffices. */
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", "1735689600",
				"v1a,AAAA v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " SIG, BODY, TS, why),
			 0);
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", "1735689600",
				"v2,7fM8koRX8Cvnz9c9Tk2/8HSQhCIWoMDv82Ucs/WwPKY=", BODY, TS, why),
			 -1);
}
END_TEST

START_TEST(test_refusals)
{
	char why[256];
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", "1735689600", SIG, BODY "x", TS, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "matches"));
	ck_assert_int_eq(verify(SECRET, "msg_sim_0002", "1735689600", SIG, BODY, TS, why), -1);
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", "1735689601", SIG, BODY, TS, why), -1);
	ck_assert_int_eq(verify("whsec_AgIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", "msg_sim_0001", "1735689600", SIG,
				BODY, TS, why),
			 -1);
	/* Stale and future timestamps, though correctly signed. */
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", "1735689600", SIG, BODY, TS + 301, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "tolerance"));
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", "1735689600", SIG, BODY, TS - 301, why), -1);
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", "1735689600", SIG, BODY, TS + 299, why), 0);
	/* Missing headers, malformed values. */
	ck_assert_int_eq(verify(SECRET, NULL, "1735689600", SIG, BODY, TS, why), -1);
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", NULL, SIG, BODY, TS, why), -1);
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", "1735689600", NULL, BODY, TS, why), -1);
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", "soon", SIG, BODY, TS, why), -1);
	ck_assert_int_eq(verify(SECRET, "msg_sim_0001", "1735689600", "v1,!!!", BODY, TS, why), -1);
	ck_assert_int_eq(verify(NULL, "msg_sim_0001", "1735689600", SIG, BODY, TS, why), -1);
	ck_assert_int_eq(verify("AQIDBAUG", "msg_sim_0001", "1735689600", SIG, BODY, TS, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "REPLICATE_WEBHOOK_SECRET"));
}
END_TEST

static void read_ok(const char *json, struct vendor_result *r)
{
	char err[128];
	ck_assert_int_eq(replicate_api_read(json, strlen(json), r, err, sizeof(err)), 0);
}

START_TEST(test_read_predictions)
{
	struct vendor_result r;
	char err[128];
	read_ok("{\"id\":\"a\",\"status\":\"succeeded\",\"output\":[\"https://replicate.delivery/x/out-0.png\"],"
		"\"urls\":{\"get\":\"https://api/p/a\",\"cancel\":\"https://api/p/a/cancel\"}}",
		&r);
	ck_assert_int_eq(r.state, VENDOR_SUCCEEDED);
	ck_assert_uint_eq(r.n_outputs, 1);
	ck_assert_str_eq(r.outputs[0], "https://replicate.delivery/x/out-0.png");
	ck_assert_str_eq(r.cancel_url, "https://api/p/a/cancel");
	vendors_result_release(&r);
	read_ok("{\"id\":\"b\",\"status\":\"succeeded\",\"output\":\"data:video/mp4;base64,AAAA\"}", &r);
	ck_assert_uint_eq(r.n_outputs, 1);
	ck_assert_ptr_null(r.get_url);
	vendors_result_release(&r);
	read_ok("{\"id\":\"c\",\"status\":\"succeeded\",\"output\":{\"video\":\"https://x/v.mp4\",\"n\":3}}", &r);
	ck_assert_uint_eq(r.n_outputs, 1);
	vendors_result_release(&r);
	read_ok("{\"id\":\"d\",\"status\":\"failed\",\"error\":\"NSFW content detected\",\"output\":null}", &r);
	ck_assert_int_eq(r.state, VENDOR_FAILED);
	ck_assert_str_eq(r.error, "NSFW content detected");
	ck_assert_uint_eq(r.n_outputs, 0);
	vendors_result_release(&r);
	read_ok("{\"id\":\"e\",\"status\":\"processing\",\"output\":[\"https://x/partial.png\"]}", &r);
	ck_assert_int_eq(r.state, VENDOR_RUNNING);
	ck_assert_uint_eq(r.n_outputs, 0); /* outputs of an unfinished prediction are not taken */
	vendors_result_release(&r);
	read_ok("{\"id\":\"f\",\"status\":\"aborted\"}", &r);
	ck_assert_int_eq(r.state, VENDOR_FAILED);
	vendors_result_release(&r);
	/* An empty error still gives the job a reason: the status. */
	read_ok("{\"id\":\"g\",\"status\":\"failed\",\"error\":\"\"}", &r);
	ck_assert_int_eq(r.state, VENDOR_FAILED);
	ck_assert_str_eq(r.error, "failed");
	vendors_result_release(&r);
	ck_assert_int_eq(replicate_api_read("{\"status\":\"succeeded\"}", 22, &r, err, sizeof(err)), -1);
	ck_assert_int_eq(replicate_api_read("[1,2", 4, &r, err, sizeof(err)), -1);
	/* An empty id names no prediction (found by fuzz_replicate). */
	ck_assert_int_eq(replicate_api_read("{\"id\":\"\",\"status\":\"succeeded\"}", 30, &r, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_create_request)
{
	char *url, *body;
	cJSON *in = cJSON_CreateObject();
	cJSON_AddStringToObject(in, "prompt", "a lighthouse");
	replicate_api_create("http://sim/v1", "acme/flux", in, "https://hooks/webhooks/replicate?job=1", &url, &body);
	ck_assert_str_eq(url, "http://sim/v1/models/acme/flux/predictions");
	ck_assert_ptr_nonnull(strstr(body, "\"webhook_events_filter\":[\"completed\"]"));
	ck_assert_ptr_nonnull(strstr(body, "\"webhook\":\"https://hooks/webhooks/replicate?job=1\""));
	ck_assert_ptr_null(strstr(body, "\"version\""));
	free(url);
	free(body);
	in = cJSON_CreateObject();
	replicate_api_create("http://sim/v1", "acme/flux:9f3c", in, "https://h", &url, &body);
	ck_assert_str_eq(url, "http://sim/v1/predictions");
	ck_assert_ptr_nonnull(strstr(body, "\"version\":\"acme/flux:9f3c\""));
	free(url);
	free(body);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("replicate");
	TCase *tc = tcase_create("webhooks");
	tcase_add_test(tc, test_reference_vector);
	tcase_add_test(tc, test_rotation_and_versions);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_read_predictions);
	tcase_add_test(tc, test_create_request);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
