/*
 * Unit tests for S3 presigned URLs (query-string SigV4): AWS's published
 * example (GET examplebucket/test.txt, S3 documentation "Authenticating
 * Requests: Using Query Parameters") gives its signature exactly; a change
 * of any input changes the signature; keys are percent-encoded per segment;
 * an upload's PUT signs its Content-Type (the expected signature computed
 * independently, by the SigV4 steps written out in Python).
 * Requests to a real server are checked end to end by tests/e2e/test_s3.py.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "storage.h"
#include "banned.h"

#define AWS_KEY "AKIAIOSFODNN7EXAMPLE"
#define AWS_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define AWS_TIME ((time_t)1369353600) /* 20130524T000000Z */

static struct s3_presign example(void)
{
	return (struct s3_presign){ .method = "GET",
				    .base = "https://examplebucket.s3.amazonaws.com",
				    .path = "/test.txt",
				    .region = "us-east-1",
				    .access_key = AWS_KEY,
				    .secret_key = AWS_SECRET,
				    .now = AWS_TIME,
				    .expires_s = 86400 };
}

static char *signature_of(const char *url)
{
	const char *s = strstr(url, "X-Amz-Signature=");
	ck_assert_ptr_nonnull(s);
	return strndup(s + 16, 64);
}

START_TEST(test_aws_example)
{
	struct s3_presign p = example();
	char *url = s3_presign_url(&p);
	ck_assert_str_eq(url, "https://examplebucket.s3.amazonaws.com/test.txt"
			      "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			      "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
			      "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
			      "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	free(url);
}
END_TEST

START_TEST(test_put_signs_content_type)
{
	struct s3_presign p = example();
	p.method = "PUT";
	p.content_type = "audio/mpeg";
	char *url = s3_presign_url(&p);
	ck_assert_str_eq(url, "https://examplebucket.s3.amazonaws.com/test.txt"
			      "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			      "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
			      "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=content-type%3Bhost"
			      "&X-Amz-Signature=ac7678720bf0ccdbb9365e68b3a3f5008a7cbbc54416e399c01a15ed76d2d977");
	p.content_type = "image/png";
	char *other = s3_presign_url(&p), *a = signature_of(url), *b = signature_of(other);
	ck_assert_str_ne(a, b);
	free(a);
	free(b);
	free(other);
	free(url);
}
END_TEST

START_TEST(test_every_input_is_signed)
{
	struct s3_presign base = example(), p;
	char *want_url = s3_presign_url(&base), *want = signature_of(want_url);
	for (int i = 0; i < 7; i++) {
		p = base;
		switch (i) {
		case 0: p.path = "/test.txu"; break;
		case 1: p.base = "https://examplebucket.s3.amazonaws.com:444"; break;
		case 2: p.region = "eu-west-1"; break;
		case 3: p.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ"; break;
		case 4: p.now = AWS_TIME + 1; break;
		case 5: p.expires_s = 86399; break;
		case 6: p.method = "PUT"; break;
		}
		char *url = s3_presign_url(&p), *sig = signature_of(url);
		ck_assert_msg(strcmp(sig, want) != 0, "input %d is not part of the signature", i);
		free(sig);
		free(url);
	}
	free(want);
	free(want_url);
}
END_TEST

START_TEST(test_path_encoded_per_segment)
{
	struct s3_presign p = example();
	p.path = "/bucket/jobs/a b/+x~y.mp4";
	char *url = s3_presign_url(&p);
	ck_assert_msg(!strncmp(url, "https://examplebucket.s3.amazonaws.com/bucket/jobs/a%20b/%2Bx~y.mp4?", 67), "%s",
		      url);
	free(url);
}
END_TEST

/* s3:// URLs are checked before any request: a bucket and credentials are needed. */
START_TEST(test_open_refuses_incomplete_settings)
{
	char err[256] = "";
	struct s3_config cfg = { .multipart_mb = 64 };
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	ck_assert_ptr_null(storage_open("s3://bucket/media", &cfg, err, sizeof(err)));
	ck_assert_msg(strstr(err, "REEL_S3_ACCESS_KEY_ID") != NULL, "%s", err);
	cfg.access_key = (char *)"id";
	cfg.secret_key = (char *)"secret";
	ck_assert_ptr_null(storage_open("s3://", &cfg, err, sizeof(err)));
	ck_assert_msg(strstr(err, "bucket") != NULL, "%s", err);
	ck_assert_ptr_null(storage_open("s3://bucket/../x", &cfg, err, sizeof(err)));
	ck_assert_msg(strstr(err, "prefix") != NULL, "%s", err);
}
END_TEST

/* The AWS names stand in for ours; the presigned link uses the public endpoint and addressing style. */
START_TEST(test_open_falls_back_to_aws_names)
{
	char err[256] = "";
	struct s3_config cfg = { .multipart_mb = 64,
				 .path_style = true,
				 .public_endpoint = (char *)"https://cdn.example.com" };
	setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SECRET", 1);
	setenv("AWS_REGION", "eu-central-1", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9", 1);
	struct storage *st = storage_open("s3://media/reel/", &cfg, err, sizeof(err));
	ck_assert_msg(st != NULL, "%s", err);
	ck_assert(!storage_is_local(st));
	char *url = storage_presign(st, "jobs/1/final.mp4", 600);
	ck_assert_msg(!strncmp(url, "https://cdn.example.com/media/reel/jobs/1/final.mp4?", 52), "%s", url);
	ck_assert_ptr_nonnull(strstr(url, "X-Amz-Credential=AKID%2F"));
	ck_assert_ptr_nonnull(strstr(url, "%2Feu-central-1%2Fs3%2F"));
	ck_assert_ptr_nonnull(strstr(url, "X-Amz-Expires=600&"));
	free(url);
	storage_free(st);

	cfg.path_style = false;
	cfg.public_endpoint = NULL;
	st = storage_open("s3://media", &cfg, err, sizeof(err));
	ck_assert_msg(st != NULL, "%s", err);
	url = storage_presign(st, "a.jpg", 60);
	ck_assert_msg(!strncmp(url, "http://media.127.0.0.1:9/a.jpg?", 31), "%s", url);
	free(url);
	storage_free(st);
}
END_TEST

/* A bucket nobody answers for fails with a message instead of hanging or crashing. */
START_TEST(test_unreachable_endpoint_fails)
{
	char err[256] = "";
	struct s3_config cfg = { .multipart_mb = 64,
				 .path_style = true,
				 .endpoint = (char *)"http://127.0.0.1:9",
				 .access_key = (char *)"id",
				 .secret_key = (char *)"secret" };
	struct storage *st = storage_open("s3://media", &cfg, err, sizeof(err));
	ck_assert_msg(st != NULL, "%s", err);
	ck_assert_ptr_null(storage_fetch(st, "jobs/x.jpg", err, sizeof(err)));
	ck_assert_msg(strstr(err, "jobs/x.jpg") != NULL, "%s", err);
	storage_free(st);
}
END_TEST

static Suite *s3_suite(void)
{
	Suite *s = suite_create("s3");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_aws_example);
	tcase_add_test(tc, test_put_signs_content_type);
	tcase_add_test(tc, test_every_input_is_signed);
	tcase_add_test(tc, test_path_encoded_per_segment);
	tcase_add_test(tc, test_open_refuses_incomplete_settings);
	tcase_add_test(tc, test_open_falls_back_to_aws_names);
	tcase_add_test(tc, test_unreachable_endpoint_fails);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(s3_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
