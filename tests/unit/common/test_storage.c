/*
 * Unit tests for file:// storage: opening (the .tmp folder, refusals naming
 * REEL_STORAGE_URL), key safety, unique temporary paths, atomic placement
 * into new nested folders, and the path and URL forms of a key. Each test
 * works in its own mkdtemp folder and removes it.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage.h"
#include "banned.h"

static char root[256];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/reel-storage-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct storage *open_root(void)
{
	char url[300], err[256] = "";
	struct storage *st;
	snprintf(url, sizeof(url), "file://%s", root);
	st = storage_open(url, NULL, err, sizeof(err));
	ck_assert_msg(st != NULL, "open %s: %s", url, err);
	return st;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_dir(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(content, 1, strlen(content), f), strlen(content));
	ck_assert_int_eq(fclose(f), 0);
}

static void assert_content(const char *path, const char *want)
{
	char buf[256] = "";
	FILE *f = fopen(path, "rb");
	size_t n;
	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

START_TEST(test_open_creates_tmp)
{
	char tmp[300];
	struct storage *st = open_root();
	snprintf(tmp, sizeof(tmp), "%s/.tmp", root);
	ck_assert(is_dir(tmp));
	storage_free(st);
	/* Opening again over an existing .tmp is fine. */
	st = open_root();
	storage_free(st);
	storage_free(NULL);
}
END_TEST

START_TEST(test_open_creates_missing_root)
{
	char url[300], tmp[300], err[256] = "";
	struct storage *st;
	snprintf(url, sizeof(url), "file://%s/a/b/c/", root);
	st = storage_open(url, NULL, err, sizeof(err));
	ck_assert_msg(st != NULL, "%s", err);
	snprintf(tmp, sizeof(tmp), "%s/a/b/c/.tmp", root);
	ck_assert(is_dir(tmp));
	storage_free(st);
}
END_TEST

START_TEST(test_open_refuses)
{
	static const char *const bad[] = {
		"http://x/y", "file://relative/path", "file://", "/abs/path", "relative", ""
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char err[256] = "";
		struct storage *st = storage_open(bad[i], NULL, err, sizeof(err));
		ck_assert_msg(st == NULL, "accepted '%s'", bad[i]);
		ck_assert_msg(strstr(err, "REEL_STORAGE_URL") != NULL, "for '%s' err: %s", bad[i], err);
	}
}
END_TEST

START_TEST(test_open_unwritable)
{
	char url[400], err[256] = "", file[300];
	/* The root is a regular file: .tmp cannot be made under it. */
	snprintf(file, sizeof(file), "%s/plain", root);
	write_file(file, "x");
	snprintf(url, sizeof(url), "file://%s", file);
	ck_assert_ptr_null(storage_open(url, NULL, err, sizeof(err)));
	ck_assert_msg(strstr(err, "REEL_STORAGE_URL") != NULL, "err: %s", err);
}
END_TEST

START_TEST(test_key_ok)
{
	static const char *const good[] = {
		"jobs/x/a.jpg",   "a", "a.b", "..a", "a..", ".hidden", "jobs/6f1c/shot-0.jpg", "a/b/c/d/e", "x y",
		"caf\xc3\xa9.txt"
	};
	static const char *const bad[] = { "",    "/abs",  "../x", "a/../b", "a/..", "..",  ".",
					   "./a", "a/./b", "a/.",  "a//b",   "a/",   "//a", "a\\b",
					   "\\a", "a\nb",  "a\tb", "a\x01",  "\x1f" };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		ck_assert_msg(storage_key_ok(good[i]), "refused '%s'", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(!storage_key_ok(bad[i]), "accepted bad key #%zu '%s'", i, bad[i]);
}
END_TEST

START_TEST(test_path_and_url)
{
	char url[300], want[400], err[256] = "";
	struct storage *st;
	char *s;
	/* Trailing slashes on the root are dropped. */
	snprintf(url, sizeof(url), "file://%s//", root);
	st = storage_open(url, NULL, err, sizeof(err));
	ck_assert_msg(st != NULL, "%s", err);
	s = storage_path(st, "jobs/x/a.jpg");
	snprintf(want, sizeof(want), "%s/jobs/x/a.jpg", root);
	ck_assert_str_eq(s, want);
	free(s);
	s = storage_url(st, "jobs/x/a.jpg");
	snprintf(want, sizeof(want), "file://%s/jobs/x/a.jpg", root);
	ck_assert_str_eq(s, want);
	free(s);
	storage_free(st);
}
END_TEST

START_TEST(test_temp_unique)
{
	enum { N = 2000 };
	struct storage *st = open_root();
	char prefix[300];
	char **paths = calloc(N, sizeof(*paths));
	size_t plen;
	snprintf(prefix, sizeof(prefix), "%s/.tmp/", root);
	plen = strlen(prefix);
	ck_assert_ptr_nonnull(paths);
	for (int i = 0; i < N; i++) {
		paths[i] = storage_temp(st, ".jpg");
		ck_assert_msg(strncmp(paths[i], prefix, plen) == 0, "%s not under %s", paths[i], prefix);
		ck_assert_ptr_null(strchr(paths[i] + plen, '/'));
		ck_assert_uint_gt(strlen(paths[i]), plen + 4 + 8); /* a real name before the suffix */
		ck_assert_str_eq(paths[i] + strlen(paths[i]) - 4, ".jpg");
	}
	qsort(paths, N, sizeof(*paths), cmp_str);
	for (int i = 1; i < N; i++)
		ck_assert_msg(strcmp(paths[i - 1], paths[i]) != 0, "duplicate temp path %s", paths[i]);
	for (int i = 0; i < N; i++)
		free(paths[i]);
	free(paths);
	/* No suffix. */
	char *t = storage_temp(st, "");
	ck_assert(strncmp(t, prefix, plen) == 0 && strlen(t) > plen);
	free(t);
	storage_free(st);
}
END_TEST

START_TEST(test_put_nested)
{
	struct storage *st = open_root();
	char *tmp = storage_temp(st, ".txt"), *dst, err[256] = "";
	write_file(tmp, "frame data");
	ck_assert_msg(storage_put(st, "jobs/abc/shots/0/a.txt", tmp, err, sizeof(err)) == 0, "put: %s", err);
	ck_assert_int_eq(access(tmp, F_OK), -1); /* the temporary name is gone */
	ck_assert_int_eq(errno, ENOENT);
	dst = storage_path(st, "jobs/abc/shots/0/a.txt");
	assert_content(dst, "frame data");
	free(dst);
	free(tmp);

	/* A second put replaces the file, into folders that now exist. */
	tmp = storage_temp(st, ".txt");
	write_file(tmp, "second");
	ck_assert_msg(storage_put(st, "jobs/abc/shots/0/a.txt", tmp, err, sizeof(err)) == 0, "put: %s", err);
	dst = storage_path(st, "jobs/abc/shots/0/a.txt");
	assert_content(dst, "second");
	free(dst);
	free(tmp);

	/* A key at the root. */
	tmp = storage_temp(st, "");
	write_file(tmp, "top");
	ck_assert_msg(storage_put(st, "top.bin", tmp, err, sizeof(err)) == 0, "put: %s", err);
	dst = storage_path(st, "top.bin");
	assert_content(dst, "top");
	free(dst);
	free(tmp);
	storage_free(st);
}
END_TEST

START_TEST(test_delete)
{
	struct storage *st = open_root();
	char *tmp = storage_temp(st, ".txt"), *dst = storage_path(st, "jobs/d/a.txt"), err[256] = "";
	write_file(tmp, "gone soon");
	ck_assert_msg(storage_put(st, "jobs/d/a.txt", tmp, err, sizeof(err)) == 0, "put: %s", err);
	ck_assert_msg(storage_delete(st, "jobs/d/a.txt", err, sizeof(err)) == 0, "delete: %s", err);
	ck_assert_int_eq(access(dst, F_OK), -1);
	/* A key already gone is not an error; a key that is no key is. */
	ck_assert_msg(storage_delete(st, "jobs/d/a.txt", err, sizeof(err)) == 0, "delete again: %s", err);
	ck_assert_int_eq(storage_delete(st, "../a.txt", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "invalid storage key"));
	free(dst);
	free(tmp);
	storage_free(st);
}
END_TEST

START_TEST(test_put_bad_key)
{
	static const char *const bad[] = { "../escape.txt", "/etc/x", "a//b", "a/./b", "", "a\\b" };
	struct storage *st = open_root();
	char *tmp = storage_temp(st, ".txt"), escape[300];
	write_file(tmp, "payload");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char err[256] = "";
		ck_assert_msg(storage_put(st, bad[i], tmp, err, sizeof(err)) == -1, "stored under '%s'", bad[i]);
		ck_assert_msg(strstr(err, "key") != NULL, "err: %s", err);
		ck_assert_int_eq(access(tmp, F_OK), 0); /* the source stays */
	}
	snprintf(escape, sizeof(escape), "%s/../escape.txt", root);
	ck_assert_int_eq(access(escape, F_OK), -1);
	assert_content(tmp, "payload");
	free(tmp);
	storage_free(st);
}
END_TEST

START_TEST(test_put_missing_source)
{
	struct storage *st = open_root();
	char *tmp = storage_temp(st, ".txt"), *dst, err[256] = "";
	ck_assert_int_eq(storage_put(st, "jobs/x/missing.txt", tmp, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "jobs/x/missing.txt") != NULL, "err: %s", err);
	dst = storage_path(st, "jobs/x/missing.txt");
	ck_assert_int_eq(access(dst, F_OK), -1);
	free(dst);
	free(tmp);
	storage_free(st);
}
END_TEST

START_TEST(test_put_folder_blocked_by_file)
{
	struct storage *st = open_root();
	char *tmp = storage_temp(st, ".txt"), *blocker, err[256] = "";
	blocker = storage_path(st, "jobs");
	write_file(blocker, "i am a file");
	write_file(tmp, "x");
	ck_assert_int_eq(storage_put(st, "jobs/x/a.txt", tmp, err, sizeof(err)), -1);
	ck_assert_msg(err[0] != '\0', "no error text");
	assert_content(blocker, "i am a file");
	free(blocker);
	free(tmp);
	storage_free(st);
}
END_TEST

static Suite *storage_suite(void)
{
	Suite *s = suite_create("storage");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_creates_tmp);
	tcase_add_test(tc, test_open_creates_missing_root);
	tcase_add_test(tc, test_open_refuses);
	tcase_add_test(tc, test_open_unwritable);
	tcase_add_test(tc, test_key_ok);
	tcase_add_test(tc, test_path_and_url);
	tcase_add_test(tc, test_temp_unique);
	tcase_add_test(tc, test_put_nested);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_put_bad_key);
	tcase_add_test(tc, test_put_missing_source);
	tcase_add_test(tc, test_put_folder_blocked_by_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(storage_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
