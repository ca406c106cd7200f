/*
 * Unit tests for signed downloads from file:// storage, what is served:
 * whole files and byte ranges with their exact bytes and Content-Range, the
 * caps, 416, 404, 403 for bad or expired signatures, and content types.
 */
#include "files_fixture.h"

START_TEST(test_whole_file)
{
	struct file_answer a;

	put("jobs/1/clip.mp4", DATA, DATA_LEN);
	ck_assert_int_eq(get("jobs/1/clip.mp4", NULL, &a), 0);
	ck_assert_int_eq(a.status, 200);
	ck_assert_uint_eq(a.len, DATA_LEN);
	ck_assert_mem_eq(a.body, DATA, DATA_LEN);
	ck_assert_int_eq(a.total, DATA_LEN);
	ck_assert_str_eq(a.content_type, "video/mp4");
	ck_assert_str_eq(a.content_range, "");
	ck_assert_ptr_null(a.problem_type);
	files_answer_release(&a);
	ck_assert_ptr_null(a.body);
	files_answer_release(&a); /* twice is harmless */
}
END_TEST

START_TEST(test_ranges)
{
	put("jobs/1/clip.mp4", DATA, DATA_LEN);
	assert_part("bytes=2-5", "bytes 2-5/20", 2, 4);
	assert_part("bytes=0-0", "bytes 0-0/20", 0, 1);
	assert_part("bytes=7-", "bytes 7-19/20", 7, 13);
	assert_part("bytes=-4", "bytes 16-19/20", 16, 4);
	assert_part("bytes=19-19", "bytes 19-19/20", 19, 1);
	/* ends past the file are clamped */
	assert_part("bytes=3-999", "bytes 3-19/20", 3, 17);
	assert_part("bytes=-999", "bytes 0-19/20", 0, 20);
	assert_part("bytes=0-99999999999999999999999", "bytes 0-19/20", 0, 20);
	/* unit is case-insensitive, optional whitespace tolerated */
	assert_part("Bytes = 1-2 ", "bytes 1-2/20", 1, 2);
}
END_TEST

START_TEST(test_ranges_ignored)
{
	/* several ranges, other units and bad syntax: the header is ignored */
	static const char *ignored[] = { "bytes=0-1,4-5", "bytes=0-1, 4-5", "items=0-1", "bytes=5-2",
					 "bytes=abc",     "bytes=",         "bytes=-",   "bytes 0-1",
					 "bytes=1-2x",    "bytes=--1",      "" };

	put("jobs/1/clip.mp4", DATA, DATA_LEN);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		assert_whole(ignored[i]);
}
END_TEST

START_TEST(test_unsatisfiable)
{
	struct file_answer a;

	put("jobs/1/clip.mp4", DATA, DATA_LEN);
	assert_unsatisfiable("bytes=20-", "bytes */20");
	assert_unsatisfiable("bytes=20-30", "bytes */20");
	assert_unsatisfiable("bytes=-0", "bytes */20");
	assert_unsatisfiable("bytes=99999999999999999999-", "bytes */20");
	/* an empty file has no byte to give, but answers whole */
	put("jobs/1/empty.json", "", 0);
	ck_assert_int_eq(get("jobs/1/empty.json", "bytes=0-", &a), -1);
	assert_problem(&a, 416, "range-not-satisfiable");
	ck_assert_str_eq(a.content_range, "bytes */0");
	files_answer_release(&a);
	ck_assert_int_eq(get("jobs/1/empty.json", "bytes=-5", &a), -1);
	ck_assert_int_eq(a.status, 416);
	files_answer_release(&a);
	ck_assert_int_eq(get("jobs/1/empty.json", NULL, &a), 0);
	ck_assert_int_eq(a.status, 200);
	ck_assert_uint_eq(a.len, 0);
	ck_assert_str_eq(a.content_type, "application/json");
	files_answer_release(&a);
}
END_TEST

START_TEST(test_part_cap)
{
	const off_t size = (off_t)FILES_MAX_PART + (1 << 20) + 5;
	struct file_answer a;
	char want[96];

	put_sparse("jobs/2/final.mp4", size);
	ck_assert_int_eq(get("jobs/2/final.mp4", "bytes=0-", &a), 0);
	ck_assert_int_eq(a.status, 206);
	ck_assert_uint_eq(a.len, FILES_MAX_PART);
	snprintf(want, sizeof(want), "bytes 0-%u/%lld", FILES_MAX_PART - 1, (long long)size);
	ck_assert_str_eq(a.content_range, want);
	ck_assert_mem_eq(a.body, "HEAD", 4);
	files_answer_release(&a);
	/* the player asks for the rest */
	snprintf(want, sizeof(want), "bytes=%u-", FILES_MAX_PART);
	ck_assert_int_eq(get("jobs/2/final.mp4", want, &a), 0);
	ck_assert_int_eq(a.status, 206);
	ck_assert_uint_eq(a.len, (size_t)size - FILES_MAX_PART);
	ck_assert_mem_eq(a.body + a.len - 4, "TAIL", 4);
	files_answer_release(&a);
	/* without a Range it is still small enough to answer whole */
	ck_assert_int_eq(get("jobs/2/final.mp4", NULL, &a), 0);
	ck_assert_int_eq(a.status, 200);
	ck_assert_uint_eq(a.len, (size_t)size);
	ck_assert_mem_eq(a.body + a.len - 4, "TAIL", 4);
	files_answer_release(&a);
}
END_TEST

START_TEST(test_too_large_whole)
{
	const off_t size = (off_t)FILES_MAX_WHOLE + 1;
	struct file_answer a;
	char want[96];

	put_sparse("jobs/3/huge.mp4", size);
	ck_assert_int_eq(get("jobs/3/huge.mp4", NULL, &a), -1);
	assert_problem(&a, 413, "file-too-large");
	ck_assert_int_eq(a.total, size);
	ck_assert_msg(strstr(a.problem_detail, "Range") != NULL, "detail %s", a.problem_detail);
	files_answer_release(&a);
	/* several ranges are ignored, so they meet the same limit */
	ck_assert_int_eq(get("jobs/3/huge.mp4", "bytes=0-1,5-6", &a), -1);
	ck_assert_int_eq(a.status, 413);
	files_answer_release(&a);
	ck_assert_int_eq(get("jobs/3/huge.mp4", "bytes=-10", &a), 0);
	ck_assert_int_eq(a.status, 206);
	snprintf(want, sizeof(want), "bytes %lld-%lld/%lld", (long long)size - 10, (long long)size - 1,
		 (long long)size);
	ck_assert_str_eq(a.content_range, want);
	ck_assert_mem_eq(a.body + 6, "TAIL", 4);
	files_answer_release(&a);
}
END_TEST

START_TEST(test_missing)
{
	struct file_answer a;

	ck_assert_int_eq(get("jobs/none/final.mp4", NULL, &a), -1);
	assert_problem(&a, 404, "not-found");
	ck_assert_int_eq(a.total, -1);
	files_answer_release(&a);
	/* a file used as a folder */
	put("jobs/f", DATA, DATA_LEN);
	ck_assert_int_eq(get("jobs/f/x.mp4", NULL, &a), -1);
	assert_problem(&a, 404, "not-found");
	files_answer_release(&a);
}
END_TEST

START_TEST(test_signatures)
{
	char exp[32], past[32], sig[SIGN_HEX_LEN + 1], other[SIGN_HEX_LEN + 1];
	struct file_answer a;

	put("jobs/1/clip.mp4", DATA, DATA_LEN);
	snprintf(exp, sizeof(exp), "%lld", (long long)NOW + 60);
	snprintf(past, sizeof(past), "%lld", (long long)NOW - 1);
	sign_compute(SECRET, "jobs/1/clip.mp4", exp, sig);
	ck_assert_int_eq(files_answer(st, SECRET, "jobs/1/clip.mp4", exp, sig, NULL, NOW, &a), 0);
	ck_assert_int_eq(a.status, 200);
	files_answer_release(&a);
	ck_assert_int_eq(files_answer(st, "another-secret", "jobs/1/clip.mp4", exp, sig, NULL, NOW, &a), -1);
	assert_problem(&a, 403, "bad-signature");
	files_answer_release(&a);
	ck_assert_int_eq(files_answer(st, SECRET, "jobs/1/clip.mp4", "1700000061", sig, NULL, NOW, &a), -1);
	assert_problem(&a, 403, "bad-signature");
	files_answer_release(&a);
	sign_compute(SECRET, "jobs/1/other.mp4", exp, other);
	ck_assert_int_eq(files_answer(st, SECRET, "jobs/1/clip.mp4", exp, other, NULL, NOW, &a), -1);
	assert_problem(&a, 403, "bad-signature");
	files_answer_release(&a);
	ck_assert_int_eq(files_answer(st, SECRET, "jobs/1/clip.mp4", exp, "zz", NULL, NOW, &a), -1);
	assert_problem(&a, 403, "bad-signature");
	ck_assert_msg(strstr(a.problem_detail, "malformed") != NULL, "detail %s", a.problem_detail);
	files_answer_release(&a);
	ck_assert_int_eq(files_answer(st, SECRET, "jobs/1/clip.mp4", NULL, NULL, NULL, NOW, &a), -1);
	assert_problem(&a, 403, "bad-signature");
	files_answer_release(&a);
	ck_assert_int_eq(files_answer(st, "", "jobs/1/clip.mp4", exp, sig, NULL, NOW, &a), -1);
	ck_assert_int_eq(a.status, 403);
	files_answer_release(&a);
	/* expired, and checked at the given time, not the wall clock */
	sign_compute(SECRET, "jobs/1/clip.mp4", past, sig);
	ck_assert_int_eq(files_answer(st, SECRET, "jobs/1/clip.mp4", past, sig, NULL, NOW, &a), -1);
	assert_problem(&a, 403, "link-expired");
	files_answer_release(&a);
	ck_assert_int_eq(files_answer(st, SECRET, "jobs/1/clip.mp4", past, sig, NULL, NOW - 1, &a), 0);
	files_answer_release(&a);
}
END_TEST

START_TEST(test_signature_before_filesystem)
{
	struct file_answer a;

	/* an unsigned request cannot tell a missing file from a present one */
	ck_assert_int_eq(files_answer(st, SECRET, "jobs/none/final.mp4", "1700003600", "00", NULL, NOW, &a), -1);
	ck_assert_int_eq(a.status, 403);
	files_answer_release(&a);
}
END_TEST

START_TEST(test_content_types)
{
	static const struct {
		const char *key, *type;
	} cases[] = {
		{ "jobs/1/final.mp4", "video/mp4" },
		{ "jobs/1/FINAL.MP4", "video/mp4" },
		{ "jobs/1/shot-0.jpg", "image/jpeg" },
		{ "jobs/1/shot-0.jpeg", "image/jpeg" },
		{ "jobs/1/shot-0.png", "image/png" },
		{ "jobs/1/shot-0.wav", "audio/wav" },
		{ "jobs/1/final.srt", "application/x-subrip" },
		{ "jobs/1/final.vtt", "text/vtt" },
		{ "jobs/1/manifest.json", "application/json" },
		{ "jobs/1/page.html", "application/octet-stream" },
		{ "jobs/1/noext", "application/octet-stream" },
		{ "jobs/1.mp4/noext", "application/octet-stream" },
		{ "jobs/1/archive.tar.gz", "application/octet-stream" },
		{ "jobs/1/trailing.", "application/octet-stream" },
	};
	struct file_answer a;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(!strcmp(files_content_type(cases[i].key), cases[i].type), "%s: %s", cases[i].key,
			      files_content_type(cases[i].key));
	put("jobs/1/final.srt", "1\n", 2);
	ck_assert_int_eq(get("jobs/1/final.srt", NULL, &a), 0);
	ck_assert_str_eq(a.content_type, "application/x-subrip");
	files_answer_release(&a);
}
END_TEST

static Suite *files_serve_suite(void)
{
	Suite *s = suite_create("files_serve");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_whole_file);
	tcase_add_test(tc, test_ranges);
	tcase_add_test(tc, test_ranges_ignored);
	tcase_add_test(tc, test_unsatisfiable);
	tcase_add_test(tc, test_part_cap);
	tcase_add_test(tc, test_too_large_whole);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_signatures);
	tcase_add_test(tc, test_signature_before_filesystem);
	tcase_add_test(tc, test_content_types);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_suite(files_serve_suite());
}
