/*
 * Shared by the unit tests of signed downloads from file:// storage: a fresh
 * pair of mkdtemp folders per test (the storage root and one outside it),
 * files stored the way writers do, signed GETs and assertions on answers.
 * Included by each test file.
 */
#ifndef REEL_FILES_FIXTURE_H
#define REEL_FILES_FIXTURE_H

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
#include "../unit_suite.h"
#include "banned.h"

#define SECRET "test-url-secret"
#define NOW ((time_t)1700000000)
#define DATA "0123456789abcdef\0XYZ" /* 20 bytes, one of them NUL */
#define DATA_LEN 20

static char root[128], outside[128], link_root[160];
static struct storage *st;

static inline int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void setup(void)
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

static inline void teardown(void)
{
	storage_free(st);
	unlink(link_root);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nftw(outside, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void write_at(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Stores data under key the way writers do (temporary file, then storage_put). */
static inline void put(const char *key, const void *data, size_t len)
{
	char *tmp = storage_temp(st, ".part"), err[256] = "";
	write_at(tmp, data, len);
	ck_assert_msg(storage_put(st, key, tmp, err, sizeof(err)) == 0, "put %s: %s", key, err);
	free(tmp);
}

/* A sparse file of size bytes under key with marker bytes at both ends. */
static inline void put_sparse(const char *key, off_t size)
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
static inline int get(const char *key, const char *range, struct file_answer *a)
{
	char exp[32], sig[SIGN_HEX_LEN + 1];
	snprintf(exp, sizeof(exp), "%lld", (long long)NOW + 3600);
	sign_compute(SECRET, key, exp, sig);
	return files_answer(st, SECRET, key, exp, sig, range, NOW, a);
}

static inline void assert_problem(const struct file_answer *a, int status, const char *type)
{
	ck_assert_int_eq(a->status, status);
	ck_assert_ptr_null(a->body);
	ck_assert_uint_eq(a->len, 0);
	ck_assert_msg(a->problem_type && !strcmp(a->problem_type, type), "type %s, want %s",
		      a->problem_type ? a->problem_type : "(null)", type);
	ck_assert_msg(a->problem_detail[0] != '\0', "no detail");
}

static inline void assert_part(const char *range, const char *want_range, size_t off, size_t len)
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

static inline void assert_whole(const char *range)
{
	struct file_answer a;
	ck_assert_msg(get("jobs/1/clip.mp4", range, &a) == 0, "range %s: %d", range ? range : "-", a.status);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(a.content_range, "");
	ck_assert_uint_eq(a.len, DATA_LEN);
	ck_assert_mem_eq(a.body, DATA, DATA_LEN);
	files_answer_release(&a);
}

static inline void assert_unsatisfiable(const char *range, const char *want_range)
{
	struct file_answer a;
	ck_assert_int_eq(get("jobs/1/clip.mp4", range, &a), -1);
	assert_problem(&a, 416, "range-not-satisfiable");
	ck_assert_str_eq(a.content_range, want_range);
	files_answer_release(&a);
}

#endif
