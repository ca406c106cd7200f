/*
 * file:// storage: a root folder with a .tmp folder inside for writers.
 * s3:// storage: common/s3.c's requests, with temporaries in the local TMPDIR.
 */
#include "storage.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "str.h"
#include "banned.h"

struct storage {
	char *root;    /* file://: absolute folder, no trailing slash; s3://: the local temporary folder */
	struct s3 *s3; /* s3:// storage, else NULL */
};

static int mkdirs(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = p + 1; *s && rc == 0; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				rc = -1;
			*s = '/';
		}
	if (rc == 0 && mkdir(p, 0755) < 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

static struct storage *open_s3(const char *url, const struct s3_config *cfg, char *err, size_t errlen)
{
	static const struct s3_config none = { .multipart_mb = 64 };
	const char *bucket = url + 5, *slash = strchr(bucket, '/');
	char *name = xstrndup(bucket, slash ? (size_t)(slash - bucket) : strlen(bucket));
	char *prefix = xstrdup(slash ? slash + 1 : "");
	size_t n = strlen(prefix);
	struct storage *st = NULL;
	struct s3 *s3;
	const char *tmp = getenv("TMPDIR");

	while (n > 0 && prefix[n - 1] == '/')
		prefix[--n] = '\0';
	if (!storage_key_ok(prefix) && *prefix)
		errbuf_set(err, errlen, "REEL_STORAGE_URL=%s: the prefix is not a clean path", url);
	else if ((s3 = s3_new(name, prefix, cfg ? cfg : &none, err, errlen))) {
		st = xcalloc(1, sizeof(*st));
		st->s3 = s3;
		st->root = xstrdup(tmp && *tmp == '/' ? tmp : "/tmp");
	}
	free(name);
	free(prefix);
	return st;
}

struct storage *storage_open(const char *url, const struct s3_config *s3, char *err, size_t errlen)
{
	struct storage *st;
	char *tmp;
	size_t n;

	if (strncmp(url, "s3://", 5) == 0)
		return open_s3(url, s3, err, errlen);
	if (strncmp(url, "file://", 7) != 0 || url[7] != '/') {
		errbuf_set(err, errlen,
			   "REEL_STORAGE_URL=%s: only file:///absolute/path and s3://BUCKET[/PREFIX] are supported",
			   url);
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->root = xstrdup(url + 7);
	n = strlen(st->root);
	while (n > 1 && st->root[n - 1] == '/')
		st->root[--n] = '\0';
	tmp = xasprintf("%s/.tmp", st->root);
	if (mkdirs(tmp) < 0) {
		errbuf_set(err, errlen, "REEL_STORAGE_URL: cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		storage_free(st);
		return NULL;
	}
	free(tmp);
	return st;
}

void storage_free(struct storage *st)
{
	if (!st)
		return;
	free(st->root);
	s3_free(st->s3);
	free(st);
}

int storage_key_ok(const char *key)
{
	const char *seg = key;
	if (!*key || *key == '/')
		return 0;
	for (const char *p = key;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t len = (size_t)(p - seg);
			if (len == 0 || (len == 2 && seg[0] == '.' && seg[1] == '.') || (len == 1 && seg[0] == '.'))
				return 0;
			if (*p == '\0')
				return 1;
			seg = p + 1;
		} else if ((unsigned char)*p < 0x20 || *p == '\\') {
			return 0;
		}
	}
}

bool storage_is_local(const struct storage *st)
{
	return !st->s3;
}

char *storage_path(const struct storage *st, const char *key)
{
	assert(!st->s3);
	return xasprintf("%s/%s", st->root, key);
}

char *storage_fetch(const struct storage *st, const char *key, char *err, size_t errlen)
{
	char *tmp;
	if (!st->s3)
		return storage_path(st, key);
	if (!storage_key_ok(key)) {
		errbuf_set(err, errlen, "invalid storage key '%s'", key);
		return NULL;
	}
	const char *dot = strrchr(key, '.');
	/* The key's extension is kept: FFmpeg and the vendors guess formats from it. */
	tmp = storage_temp(st, dot && !strchr(dot, '/') ? dot : "");
	if (s3_get_file(st->s3, key, tmp, err, errlen) < 0) {
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	return tmp;
}

void storage_drop(const struct storage *st, char *path)
{
	if (path && st->s3)
		unlink(path);
	free(path);
}

char *storage_temp(const struct storage *st, const char *suffix)
{
	char id[33];
	str_random_hex(id, 16);
	if (st->s3)
		return xasprintf("%s/reel-%s%s", st->root, id, suffix);
	return xasprintf("%s/.tmp/%s%s", st->root, id, suffix);
}

int storage_put(const struct storage *st, const char *key, const char *src, char *err, size_t errlen)
{
	char *dst, *slash;
	int rc = 0;
	if (!storage_key_ok(key))
		return errbuf_set(err, errlen, "invalid storage key '%s'", key);
	if (st->s3) {
		if (s3_put_file(st->s3, key, src, err, errlen) < 0)
			return -1;
		unlink(src);
		return 0;
	}
	dst = storage_path(st, key);
	slash = strrchr(dst, '/');
	*slash = '\0';
	if (mkdirs(dst) < 0)
		rc = errbuf_set(err, errlen, "cannot create %s: %s", dst, strerror(errno));
	*slash = '/';
	if (rc == 0 && rename(src, dst) < 0)
		rc = errbuf_set(err, errlen, "cannot store %s: %s", key, strerror(errno));
	free(dst);
	return rc;
}

int storage_delete(const struct storage *st, const char *key, char *err, size_t errlen)
{
	if (!storage_key_ok(key))
		return errbuf_set(err, errlen, "invalid storage key '%s'", key);
	if (st->s3)
		return s3_delete(st->s3, key, err, errlen);
	char *path = storage_path(st, key);
	int rc = unlink(path) < 0 && errno != ENOENT
			 ? errbuf_set(err, errlen, "cannot delete %s: %s", key, strerror(errno))
			 : 0;
	free(path);
	return rc;
}

char *storage_url(const struct storage *st, const char *key)
{
	if (st->s3)
		return s3_url(st->s3, key, 3600);
	return xasprintf("file://%s/%s", st->root, key);
}

char *storage_presign(const struct storage *st, const char *key, long ttl_s)
{
	return st->s3 ? s3_url(st->s3, key, ttl_s) : NULL;
}

char *storage_presign_put(const struct storage *st, const char *key, long ttl_s, const char *content_type)
{
	return st->s3 ? s3_put_url(st->s3, key, ttl_s, content_type) : NULL;
}

int storage_size(const struct storage *st, const char *key, off_t *size, char *err, size_t errlen)
{
	assert(st->s3);
	return s3_size(st->s3, key, size, err, errlen);
}

int storage_read(const struct storage *st, const char *key, off_t first, size_t len, char *buf, char *err,
		 size_t errlen)
{
	assert(st->s3);
	return s3_read(st->s3, key, first, len, buf, err, errlen);
}
