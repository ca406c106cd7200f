/*
 * Unit tests for signed downloads from file:// storage: whole files and byte
 * ranges with their exact bytes and Content-Range, the caps, 416, 404, 403 for
 * bad or expired signatures, and confinement: traversal keys (plain and
 * percent-encoded), symlinks leaving the root, hidden folders, directories and
 * FIFOs are refused. Each test works in its own mkdtemp folders.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "http_server.h"
#include "sign.h"
#include "banned.h"

#define SECRET "test-url-secret"
#define NOW ((time_t)1700000000)
#define DATA "0123456789abcdef\0XYZ" /* 20 bytes, one of them NUL */
#define DATA_LEN 20

static char root[128], outside[128], link_root[160];
static struct storage *st;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	char url[200], err[256] = "";

	snprintf(root, sizeof(root), "/tmp/reel-files-test-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/reel-files-out-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_ptr_nonnull(mkdtemp(outside));
	snprintf(link_root, sizeof(link_root), "%s-link", root);
	snprintf(url, sizeof(url), "file://%s", root);
	st = storage_open(url, NULL, err, sizeof(err));
	ck_assert_msg(st != NULL, "open %s: %s", url, err);
}

static void teardown(void)
{
	storage_free(st);
	unlink(link_root);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nftw(outside, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_at(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Stores data under key the way writers do (temporary file, then storage_put). */
static void put(const char *key, const void *data, size_t len)
{
	char *tmp = storage_temp(st, ".part"), err[256] = "";
	write_at(tmp, data, len);
	ck_assert_msg(storage_put(st, key, tmp, err, sizeof(err)) == 0, "put %s: %s", key, err);
	free(tmp);
}

/* A sparse file of size bytes under key with marker bytes at both ends. */
static void put_sparse(const char *key, off_t size)
{
	char *tmp = storage_temp(st, ".part"), err[256] = "";
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_msg(fd >= 0, "open %s: %s", tmp, strerror(errno));
	ck_assert_int_eq(ftruncate(fd, size), 0);
	ck_assert_int_eq(pwrite(fd, "HEAD", 4, 0), 4);
	ck_assert_int_eq(pwrite(fd, "TAIL", 4, size - 4), 4);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_msg(storage_put(st, key, tmp, err, sizeof(err)) == 0, "put %s: %s", key, err);
	free(tmp);
}

/* Answers a correctly signed GET of key, valid for an hour. */
static int get(const char *key, const char *range, struct file_answer *a)
{
	char exp[32], sig[SIGN_HEX_LEN + 1];
	snprintf(exp, sizeof(exp), "%lld", (long long)NOW + 3600);
	sign_compute(SECRET, key, exp, sig);
	return files_answer(st, SECRET, key, exp, sig, range, NOW, a);
}

static void assert_problem(const struct file_answer *a, int status, const char *type)
{
	ck_assert_int_eq(a->status, status);
	ck_assert_ptr_null(a->body);
	ck_assert_uint_eq(a->len, 0);
	ck_assert_msg(a->problem_type && !strcmp(a->problem_type, type), "type %s, want %s",
		      a->problem_type ? a->problem_type : "(null)", type);
	ck_assert_msg(a->problem_detail[0] != '\0', "no detail");
}

static void assert_part(const char *range, const char *want_range, size_t off, size_t len)
{
	struct file_answer a;
	ck_assert_msg(get("jobs/1/clip.mp4", range, &a) == 0, "range %s: %d %s", range, a.status, a.problem_detail);
	ck_assert_int_eq(a.status, 206);
	ck_assert_str_eq(a.content_range, want_range);
	ck_assert_uint_eq(a.len, len);
	ck_assert_mem_eq(a.body, DATA + off, len);
	ck_assert_int_eq(a.total, DATA_LEN);
	ck_assert_str_eq(a.content_type, "video/mp4");
	files_answer_release(&a);
}

static void assert_whole(const char *range)
{
	struct file_answer a;
	ck_assert_msg(get("jobs/1/clip.mp4", range, &a) == 0, "range %s: %d", range ? range : "-", a.status);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(a.content_range, "");
	ck_assert_uint_eq(a.len, DATA_LEN);
	ck_assert_mem_eq(a.body, DATA, DATA_LEN);
	files_answer_release(&a);
}

static void assert_unsatisfiable(const char *range, const char *want_range)
{
	struct file_answer a;
	ck_assert_int_eq(get("jobs/1/clip.mp4", range, &a), -1);
	assert_problem(&a, 416, "range-not-satisfiable");
	ck_assert_str_eq(a.content_range, want_range);
	files_answer_release(&a);
}

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

static Suite *files_suite(void)
{
	Suite *s = suite_create("files");
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
	tcase_add_test(tc, test_traversal_keys);
	tcase_add_test(tc, test_serve_unsigned);
	tcase_add_test(tc, test_encoded_traversal);
	tcase_add_test(tc, test_symlinks);
	tcase_add_test(tc, test_root_through_symlink);
	tcase_add_test(tc, test_not_regular);
	tcase_add_test(tc, test_content_types);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(files_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
