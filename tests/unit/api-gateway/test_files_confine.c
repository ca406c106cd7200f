/*
 * Unit tests for signed downloads from file:// storage, confinement:
 * traversal keys (plain and percent-encoded), symlinks leaving the root,
 * hidden folders, directories and FIFOs are refused, signed or not.
 */
#include "files_fixture.h"

START_TEST(test_traversal_keys)
{
	static const char *bad[] = { "../x", "a/../../b", "..", "/etc/passwd", "./a",          "a/./b",
				     "a//b", "a/",        "",   ".tmp/x",      "jobs/.hidden", "a\\..\\b" };
	char secret_path[200];
	struct file_answer a;

	snprintf(secret_path, sizeof(secret_path), "%s/secret", outside);
	write_at(secret_path, "TOPSECRET", 9);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(get(bad[i], NULL, &a), -1);
		ck_assert_msg(a.status == 400 && a.body == NULL, "key '%s' got %d", bad[i], a.status);
		ck_assert_str_eq(a.problem_type, "invalid-key");
		files_answer_release(&a);
	}
	ck_assert_int_eq(files_answer(st, SECRET, NULL, "1", "00", NULL, NOW, &a), -1);
	ck_assert_int_eq(a.status, 400);
	files_answer_release(&a);
}
END_TEST

/* files_serve (share links) needs no signature but keeps every key and path check. */
START_TEST(test_serve_unsigned)
{
	static const char *bad[] = { "../x", "/etc/passwd", ".tmp/x", "jobs/.hidden", "a//b" };
	struct file_answer a;

	put("jobs/1/final.mp4", "0123456789", 10);
	ck_assert_int_eq(files_serve(st, "jobs/1/final.mp4", "bytes=2-4", &a), 0);
	ck_assert_int_eq(a.status, 206);
	ck_assert_str_eq(a.content_range, "bytes 2-4/10");
	ck_assert_str_eq(a.content_type, "video/mp4");
	ck_assert_mem_eq(a.body, "234", 3);
	files_answer_release(&a);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(files_serve(st, bad[i], NULL, &a), -1);
		ck_assert_msg(a.status == 400 && a.body == NULL, "key '%s' got %d", bad[i], a.status);
		files_answer_release(&a);
	}
	ck_assert_int_eq(files_serve(st, "jobs/1/missing.mp4", NULL, &a), -1);
	ck_assert_int_eq(a.status, 404);
	files_answer_release(&a);
}
END_TEST

/* The key the route "/v1/files/{path*}" hands over for raw, answered with a valid signature. */
static int get_raw(const char *raw, struct file_answer *a)
{
	char buf[512];
	const char *params[HTTP_MAX_PARAMS];
	size_t n = 0;

	ck_assert_msg(http_match_route("/v1/files/{path*}", raw, buf, sizeof(buf), params, &n), "%s", raw);
	ck_assert_uint_eq(n, 1);
	return get(params[0], NULL, a);
}

START_TEST(test_encoded_traversal)
{
	static const char *bad[] = { "/v1/files/%2e%2e/secret",
				     "/v1/files/%2E%2E%2Fsecret",
				     "/v1/files/a%2F..%2F..%2Fsecret",
				     "/v1/files/jobs/%2e%2e/%2e%2e/x",
				     "/v1/files/%2Fetc%2Fpasswd",
				     "/v1/files/.tmp/x",
				     "/v1/files/a%5C..%5Cb" };
	struct file_answer a;
	char secret_path[200];

	snprintf(secret_path, sizeof(secret_path), "%s/secret", outside);
	write_at(secret_path, "TOPSECRET", 9);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(get_raw(bad[i], &a), -1);
		ck_assert_msg(a.status == 400 && a.body == NULL, "%s got %d", bad[i], a.status);
		files_answer_release(&a);
	}
	/* encoded names that are not traversal still work, and a literal "%2e%2e" is just a name */
	put("jobs/my clip/caf\xc3\xa9.mp4", DATA, DATA_LEN);
	ck_assert_int_eq(get_raw("/v1/files/jobs/my%20clip/caf%C3%A9.mp4", &a), 0);
	ck_assert_uint_eq(a.len, DATA_LEN);
	files_answer_release(&a);
	ck_assert_int_eq(get("%2e%2e/secret", NULL, &a), -1);
	ck_assert_int_eq(a.status, 404);
	files_answer_release(&a);
}
END_TEST

START_TEST(test_symlinks)
{
	char target[200], *lnk;
	struct file_answer a;

	snprintf(target, sizeof(target), "%s/secret.mp4", outside);
	write_at(target, "TOPSECRET", 9);
	put("jobs/1/clip.mp4", DATA, DATA_LEN);
	/* a file link leaving the root */
	lnk = storage_path(st, "jobs/1/leak.mp4");
	ck_assert_int_eq(symlink(target, lnk), 0);
	free(lnk);
	ck_assert_int_eq(get("jobs/1/leak.mp4", NULL, &a), -1);
	assert_problem(&a, 404, "not-found");
	files_answer_release(&a);
	/* a folder link leaving the root, relative this time */
	lnk = storage_path(st, "jobs/out");
	snprintf(target, sizeof(target), "../../%s", outside + 5); /* root and outside are both in /tmp */
	ck_assert_int_eq(symlink(target, lnk), 0);
	free(lnk);
	ck_assert_int_eq(get("jobs/out/secret.mp4", NULL, &a), -1);
	assert_problem(&a, 404, "not-found");
	files_answer_release(&a);
	/* a link to the root itself is not a file */
	lnk = storage_path(st, "jobs/self");
	ck_assert_int_eq(symlink(root, lnk), 0);
	free(lnk);
	ck_assert_int_eq(get("jobs/self", NULL, &a), -1);
	ck_assert_int_eq(a.status, 404);
	files_answer_release(&a);
	/* a link into the hidden .tmp folder, where writers keep partial files */
	snprintf(target, sizeof(target), "%s/.tmp/partial.mp4", root);
	write_at(target, "partial", 7);
	lnk = storage_path(st, "jobs/partial.mp4");
	ck_assert_int_eq(symlink(target, lnk), 0);
	free(lnk);
	ck_assert_int_eq(get("jobs/partial.mp4", NULL, &a), -1);
	ck_assert_int_eq(a.status, 404);
	files_answer_release(&a);
	/* a link that stays inside is followed */
	lnk = storage_path(st, "jobs/latest.mp4");
	ck_assert_int_eq(symlink("1/clip.mp4", lnk), 0);
	free(lnk);
	ck_assert_int_eq(get("jobs/latest.mp4", "bytes=-3", &a), 0);
	ck_assert_int_eq(a.status, 206);
	ck_assert_mem_eq(a.body, "XYZ", 3);
	files_answer_release(&a);
	/* a dangling link and a loop */
	lnk = storage_path(st, "jobs/dangling.mp4");
	ck_assert_int_eq(symlink("nowhere.mp4", lnk), 0);
	free(lnk);
	ck_assert_int_eq(get("jobs/dangling.mp4", NULL, &a), -1);
	ck_assert_int_eq(a.status, 404);
	files_answer_release(&a);
	lnk = storage_path(st, "jobs/loop");
	ck_assert_int_eq(symlink("loop", lnk), 0);
	free(lnk);
	ck_assert_int_eq(get("jobs/loop", NULL, &a), -1);
	ck_assert_int_eq(a.status, 404);
	files_answer_release(&a);
}
END_TEST

START_TEST(test_root_through_symlink)
{
	char url[200], err[256] = "";
	struct storage *via;
	struct file_answer a;
	char exp[] = "1700003600", sig[SIGN_HEX_LEN + 1];

	/* the configured root may itself be a link (as /tmp or /var often are) */
	put("jobs/1/clip.mp4", DATA, DATA_LEN);
	ck_assert_int_eq(symlink(root, link_root), 0);
	snprintf(url, sizeof(url), "file://%s/", link_root);
	via = storage_open(url, NULL, err, sizeof(err));
	ck_assert_msg(via != NULL, "%s", err);
	sign_compute(SECRET, "jobs/1/clip.mp4", exp, sig);
	ck_assert_int_eq(files_answer(via, SECRET, "jobs/1/clip.mp4", exp, sig, NULL, NOW, &a), 0);
	ck_assert_mem_eq(a.body, DATA, DATA_LEN);
	files_answer_release(&a);
	storage_free(via);
}
END_TEST

START_TEST(test_not_regular)
{
	struct file_answer a;
	char *fifo;

	put("jobs/1/clip.mp4", DATA, DATA_LEN);
	ck_assert_int_eq(get("jobs/1", NULL, &a), -1);
	assert_problem(&a, 404, "not-found");
	files_answer_release(&a);
	ck_assert_int_eq(get("jobs", "bytes=0-", &a), -1);
	ck_assert_int_eq(a.status, 404);
	files_answer_release(&a);
	/* opening a FIFO must not wait for a writer (the test's timeout would catch it) */
	fifo = storage_path(st, "jobs/1/pipe.mp4");
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	free(fifo);
	ck_assert_int_eq(get("jobs/1/pipe.mp4", NULL, &a), -1);
	assert_problem(&a, 404, "not-found");
	files_answer_release(&a);
}
END_TEST

static Suite *files_confine_suite(void)
{
	Suite *s = suite_create("files_confine");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_traversal_keys);
	tcase_add_test(tc, test_serve_unsigned);
	tcase_add_test(tc, test_encoded_traversal);
	tcase_add_test(tc, test_symlinks);
	tcase_add_test(tc, test_root_through_symlink);
	tcase_add_test(tc, test_not_regular);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_suite(files_confine_suite());
}
