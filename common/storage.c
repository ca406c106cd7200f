/*
 * file:// storage: a root folder with a .tmp folder inside for writers.
 */
#include "storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "banned.h"

struct storage {
	char *root; /* absolute folder, no trailing slash */
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

struct storage *storage_open(const char *url, char *err, size_t errlen)
{
	struct storage *st;
	char *tmp;
	size_t n;

	if (strncmp(url, "file://", 7) != 0 || url[7] != '/') {
		errorf(err, errlen, "REEL_STORAGE_URL=%s: only file:///absolute/path is supported", url);
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->root = xstrdup(url + 7);
	n = strlen(st->root);
	while (n > 1 && st->root[n - 1] == '/')
		st->root[--n] = '\0';
	tmp = xasprintf("%s/.tmp", st->root);
	if (mkdirs(tmp) < 0) {
		errorf(err, errlen, "REEL_STORAGE_URL: cannot create %s: %s", tmp, strerror(errno));
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

char *storage_path(const struct storage *st, const char *key)
{
	return xasprintf("%s/%s", st->root, key);
}

char *storage_temp(const struct storage *st, const char *suffix)
{
	char id[33];
	random_hex(id, 16);
	return xasprintf("%s/.tmp/%s%s", st->root, id, suffix);
}

int storage_put(const struct storage *st, const char *key, const char *src, char *err, size_t errlen)
{
	char *dst, *slash;
	int rc = 0;
	if (!storage_key_ok(key))
		return errorf(err, errlen, "invalid storage key '%s'", key);
	dst = storage_path(st, key);
	slash = strrchr(dst, '/');
	*slash = '\0';
	if (mkdirs(dst) < 0)
		rc = errorf(err, errlen, "cannot create %s: %s", dst, strerror(errno));
	*slash = '/';
	if (rc == 0 && rename(src, dst) < 0)
		rc = errorf(err, errlen, "cannot store %s: %s", key, strerror(errno));
	free(dst);
	return rc;
}

char *storage_url(const struct storage *st, const char *key)
{
	return xasprintf("file://%s/%s", st->root, key);
}
