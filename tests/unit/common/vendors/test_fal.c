/*
 * Unit tests for common/vendors/fal_queue: ED25519 webhook signatures against a JWKS (the
 * reference's test vector, rotation, forged, tampered and stale deliveries),
 * JWKS parsing, and the queue, webhook and result bodies.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "vendors/fal_queue.h"
#include "banned.h"

#define JWKS "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw\"}]}"
#define OTHER "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"E5j2LG0aRXxRumpLXz29L2n8qTIWIY3ImX5Ba9F9k8o\"}"
#define BODY "{\"request_id\":\"req-1\",\"status\":\"OK\",\"payload\":{}}"
#define SIG \
	"38194d2f349e59d7b106ece7771de5eee268a59fbef9c6a1f8fbfebd46ffaf8e" \
	"6a35208b7399c74ebfce287200363fd35f8d510b32cc9203b7bf9644a51f620e"
#define TS 1735689600

static struct fal_keys *keys_of(const char *json)
{
	char err[128];
	return fal_queue_keys_parse(json, strlen(json), err, sizeof(err));
}

static int verify(const struct fal_keys *k, const char *rid, const char *uid, const char *ts, const char *sig,
		  const char *body, time_t now, char *why)
{
	return fal_queue_verify(k, rid, uid, ts, sig, body, strlen(body), now, 300, why, 256);
}

START_TEST(test_reference_vector)
{
	struct fal_keys *k = keys_of(JWKS);
	char why[256] = "";
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(verify(k, "req-1", "user-1", "1735689600", SIG, BODY, TS, why), 0);
	fal_queue_keys_free(k);
}
END_TEST

START_TEST(test_rotation)
{
	/* The signing key second in the set, after another Ed25519 key and keys of other types. */
	struct fal_keys *k = keys_of(
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}," OTHER ","
		"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw\"}]}");
	char why[256];
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(verify(k, "req-1", "user-1", "1735689600", SIG, BODY, TS, why), 0);
	fal_queue_keys_free(k);
	k = keys_of("{\"keys\":[" OTHER "]}");
	ck_assert_int_eq(verify(k, "req-1", "user-1", "1735689600", SIG, BODY, TS, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "none of fal's keys"));
	fal_queue_keys_free(k);
}
END_TEST

START_TEST(test_refusals)
{
	struct fal_keys *k = keys_of(JWKS);
	char why[256], bad[129];
	ck_assert_int_eq(verify(k, "req-1", "user-1", "1735689600", SIG, BODY " ", TS, why), -1);
	ck_assert_int_eq(verify(k, "req-2", "user-1", "1735689600", SIG, BODY, TS, why), -1);
	ck_assert_int_eq(verify(k, "req-1", "user-2", "1735689600", SIG, BODY, TS, why), -1);
	ck_assert_int_eq(verify(k, "req-1", "user-1", "1735689601", SIG, BODY, TS, why), -1);
	str_copy(bad, SIG, sizeof(bad));
	bad[0] = '4';
	ck_assert_int_eq(verify(k, "req-1", "user-1", "1735689600", bad, BODY, TS, why), -1);
	ck_assert_int_eq(verify(k, "req-1", "user-1", "1735689600", "abcd", BODY, TS, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "64 bytes"));
	bad[0] = 'z';
	ck_assert_int_eq(verify(k, "req-1", "user-1", "1735689600", bad, BODY, TS, why), -1);
	/* Stale or from the future, though correctly signed. */
	ck_assert_int_eq(verify(k, "req-1", "user-1", "1735689600", SIG, BODY, TS + 301, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "tolerance"));
	ck_assert_int_eq(verify(k, "req-1", "user-1", "1735689600", SIG, BODY, TS - 301, why), -1);
	ck_assert_int_eq(verify(k, NULL, "user-1", "1735689600", SIG, BODY, TS, why), -1);
	ck_assert_int_eq(verify(k, "req-1", "user-1", NULL, SIG, BODY, TS, why), -1);
	ck_assert_int_eq(verify(NULL, "req-1", "user-1", "1735689600", SIG, BODY, TS, why), -1);
	fal_queue_keys_free(k);
}
END_TEST

START_TEST(test_jwks_without_keys)
{
	ck_assert_ptr_null(keys_of("{\"keys\":[]}"));
	ck_assert_ptr_null(keys_of("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"c2hvcnQ\"}]}"));
	ck_assert_ptr_null(keys_of("not json"));
}
END_TEST

START_TEST(test_bodies)
{
	struct vendor_result r;
	char err[128];
	const char *q =
		"{\"request_id\":\"7b1e\",\"response_url\":\"https://q/m/requests/7b1e\","
		"\"status_url\":\"https://q/m/requests/7b1e/status\",\"cancel_url\":\"https://q/m/requests/7b1e/cancel\"}";
	ck_assert_int_eq(fal_queue_read_queue(q, strlen(q), &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.id, "7b1e");
	ck_assert_int_eq(r.state, VENDOR_RUNNING);
	ck_assert_str_eq(r.cancel_url, "https://q/m/requests/7b1e/cancel");
	ck_assert_str_eq(r.result_url, "https://q/m/requests/7b1e");
	vendors_result_release(&r);
	const char *ok =
		"{\"request_id\":\"7b1e\",\"status\":\"OK\",\"payload\":{\"video\":{\"url\":\"https://fal.media/o.mp4\"}}}";
	ck_assert_int_eq(fal_queue_read_webhook(ok, strlen(ok), &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.state, VENDOR_SUCCEEDED);
	ck_assert_str_eq(r.outputs[0], "https://fal.media/o.mp4");
	vendors_result_release(&r);
	const char *bad = "{\"request_id\":\"7b1e\",\"status\":\"ERROR\",\"error\":\"Invalid status code: 422\","
			  "\"payload\":{\"detail\":[{\"loc\":[\"body\",\"prompt\"],\"msg\":\"field required\"}]}}";
	ck_assert_int_eq(fal_queue_read_webhook(bad, strlen(bad), &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.state, VENDOR_FAILED);
	ck_assert_ptr_nonnull(strstr(r.error, "422"));
	ck_assert_ptr_nonnull(strstr(r.error, "field required"));
	vendors_result_release(&r);
	const char *empty =
		"{\"request_id\":\"7b1e\",\"status\":\"OK\",\"payload\":null,\"payload_error\":\"too big\"}";
	ck_assert_int_eq(fal_queue_read_webhook(empty, strlen(empty), &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.state, VENDOR_FAILED);
	vendors_result_release(&r);
	const char *res = "{\"images\":[{\"url\":\"https://fal.media/a.png\"},{\"url\":\"https://fal.media/b.png\"}]}";
	r = (struct vendor_result){ 0 };
	ck_assert_int_eq(fal_queue_read_result(res, strlen(res), &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.n_outputs, 2);
	vendors_result_release(&r);
	ck_assert_int_eq(fal_queue_read_webhook("{}", 2, &r, err, sizeof(err)), -1);
	/* An empty request_id names no request. */
	ck_assert_int_eq(fal_queue_read_webhook("{\"request_id\":\"\",\"status\":\"OK\"}", 31, &r, err, sizeof(err)),
			 -1);
	ck_assert_int_eq(fal_queue_read_queue("{\"request_id\":\"\"}", 17, &r, err, sizeof(err)), -1);
	char *url = fal_queue_submit_url("https://queue.fal.run", "fal-ai/flux/dev",
					 "https://h/webhooks/fal?job=1&shot=2");
	ck_assert_str_eq(
		url,
		"https://queue.fal.run/fal-ai/flux/dev?fal_webhook=https%3A%2F%2Fh%2Fwebhooks%2Ffal%3Fjob%3D1%26shot%3D2");
	free(url);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fal");
	TCase *tc = tcase_create("webhooks");
	tcase_add_test(tc, test_reference_vector);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_jwks_without_keys);
	tcase_add_test(tc, test_bodies);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
