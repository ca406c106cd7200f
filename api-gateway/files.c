/*
 * Signed downloads from storage: key and signature checks, path confinement
 * on file:// (realpath must land inside the storage root), one byte range
 * per answer, and the read itself (a ranged GET on S3, for REEL_S3_PROXY).
 * See files.h for the answers it gives.
 */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign.h"
#include "str.h"
#include "banned.h"

_Static_assert(sizeof(off_t) == 8, "ranges need a 64-bit off_t");

enum range_kind { RANGE_NONE, RANGE_ONE, RANGE_UNSAT };

static const struct {
	const char *ext, *type;
} types[] = {
	{ "mp4", "video/mp4" },   { "m4a", "audio/mp4" },
	{ "webm", "video/webm" }, { "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" }, { "png", "image/png" },
	{ "webp", "image/webp" }, { "wav", "audio/wav" },
	{ "mp3", "audio/mpeg" },  { "srt", "application/x-subrip" },
	{ "vtt", "text/vtt" },    { "json", "application/json" },
};

const char *files_content_type(const char *key)
{
	const char *base = strrchr(key, '/'), *dot;

	dot = strrchr(base ? base + 1 : key, '.');
	if (dot)
		for (size_t i = 0; i < ARRAY_SIZE(types); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

static int problem(struct file_answer *out, int status, const char *type, const char *fmt, ...) PRINTF_LIKE(4, 5);

static int problem(struct file_answer *out, int status, const char *type, const char *fmt, ...)
{
	va_list ap;

	out->status = status;
	out->problem_type = type;
	va_start(ap, fmt);
	vsnprintf(out->problem_detail, sizeof(out->problem_detail), fmt, ap);
	va_end(ap);
	return -1;
}

/* Hidden segments hold storage's own work (".tmp", partial files) and are never served. */
static int has_hidden_segment(const char *rel)
{
	for (const char *seg = rel; seg; seg = strchr(seg, '/')) {
		if (*seg == '/')
			seg++;
		if (*seg == '.')
			return 1;
	}
	return 0;
}

/* True when real (a realpath) lies strictly inside root (a realpath) and not in a hidden folder. */
static int inside(const char *root, const char *real)
{
	size_t n = strlen(root);

	if (n > 0 && root[n - 1] == '/')
		n--; /* the root is "/" */
	if (strncmp(real, root, n) != 0 || real[n] != '/' || real[n + 1] == '\0')
		return 0;
	return !has_hidden_segment(real + n + 1);
}

/* Opens key's file after following every symlink and confirming it stays inside the root.
 * O_NONBLOCK keeps a FIFO planted in storage from hanging the open; fstat then refuses it. */
static int open_inside(const struct storage *st, const char *key, struct file_answer *out)
{
	char *dot = storage_path(st, "."), *path = storage_path(st, key);
	char *root = realpath(dot, NULL), *real = NULL;
	int fd = -1;

	if (!root)
		problem(out, 500, "storage-unavailable", "storage root: %s", strerror(errno));
	else if (!(real = realpath(path, NULL)) || !inside(root, real))
		problem(out, 404, "not-found", "no such file");
	else if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
		problem(out, errno == ENOENT ? 404 : 500, errno == ENOENT ? "not-found" : "storage-unavailable",
			"cannot open the file: %s", strerror(errno));
	free(real);
	free(root);
	free(path);
	free(dot);
	return fd;
}

static void skip_ows(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* Decimal digits at *p, saturating (a huge last-pos means "to the end"); -1 when none. */
static int parse_pos(const char **p, off_t *out)
{
	off_t v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v > (INT64_MAX - 9) / 10 ? INT64_MAX : v * 10 + (*s - '0');
	*p = s;
	*out = v;
	return 0;
}

/* One "bytes=" range of RFC 9110 resolved against total. Lists, other units and bad
 * syntax give RANGE_NONE: the header is then ignored, as the RFC allows. */
static enum range_kind parse_range(const char *h, off_t total, off_t *first, off_t *last)
{
	const char *p = h;
	off_t a, b = -1;

	if (!h)
		return RANGE_NONE;
	skip_ows(&p);
	if (strncasecmp(p, "bytes", 5) != 0)
		return RANGE_NONE;
	p += 5;
	skip_ows(&p);
	if (*p++ != '=')
		return RANGE_NONE;
	skip_ows(&p);
	if (*p == '-') {
		p++;
		if (parse_pos(&p, &b) < 0 || (skip_ows(&p), *p))
			return RANGE_NONE;
		if (b == 0 || total == 0)
			return RANGE_UNSAT;
		*first = total - (b < total ? b : total);
		*last = total - 1;
		return RANGE_ONE;
	}
	if (parse_pos(&p, &a) < 0 || *p++ != '-')
		return RANGE_NONE;
	if (*p >= '0' && *p <= '9')
		(void)parse_pos(&p, &b);
	skip_ows(&p);
	if (*p || (b >= 0 && b < a))
		return RANGE_NONE;
	if (a >= total)
		return RANGE_UNSAT;
	*first = a;
	*last = b < 0 || b >= total ? total - 1 : b;
	return RANGE_ONE;
}

/* Where the bytes come from: an open file, or (fd < 0) an object in S3 storage. */
struct source {
	int fd;
	const struct storage *st;
	const char *key;
};

static int read_object(const struct source *src, off_t first, size_t len, struct file_answer *out)
{
	char why[256];
	if (storage_read(src->st, src->key, first, len, out->body, why, sizeof(why)) == 0) {
		out->len = len;
		return 0;
	}
	free(out->body);
	out->body = NULL;
	return problem(out, 502, "storage-unavailable", "cannot read the object: %s", why);
}

static int read_part(const struct source *src, off_t first, size_t len, struct file_answer *out)
{
	size_t got = 0;
	int fd = src->fd;

	out->body = xmalloc(len + 1);
	if (fd < 0)
		return read_object(src, first, len, out);
	while (got < len) {
		ssize_t n = pread(fd, out->body + got, len - got, first + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(out->body);
			out->body = NULL;
			return problem(out, 500, "storage-unavailable", "cannot read the file: %s",
				       n < 0 ? strerror(errno) : "it shrank while being read");
		}
		got += (size_t)n;
	}
	out->len = len;
	return 0;
}

/* Picks status, range and bytes for a regular file or object of out->total bytes. */
static int answer_open(const struct source *src, const char *range, struct file_answer *out)
{
	long long total = (long long)out->total;
	off_t first = 0, last = out->total - 1;

	switch (parse_range(range, out->total, &first, &last)) {
	case RANGE_UNSAT:
		snprintf(out->content_range, sizeof(out->content_range), "bytes */%lld", total);
		return problem(out, 416, "range-not-satisfiable", "the range starts past the file's %lld bytes", total);
	case RANGE_ONE:
		if (last - first + 1 > (off_t)FILES_MAX_PART)
			last = first + (off_t)FILES_MAX_PART - 1;
		snprintf(out->content_range, sizeof(out->content_range), "bytes %lld-%lld/%lld", (long long)first,
			 (long long)last, total);
		out->status = 206;
		break;
	case RANGE_NONE:
		if (out->total > (off_t)FILES_MAX_WHOLE)
			return problem(out, 413, "file-too-large",
				       "the file has %lld bytes; fetch it in parts with Range: bytes=0-", total);
		out->status = 200;
		break;
	}
	return read_part(src, first, (size_t)(last - first + 1), out);
}

/* The S3 side of files_answer: the object's size, then the part asked for. */
static int answer_object(const struct storage *st, const char *key, const char *range, struct file_answer *out)
{
	const struct source src = { -1, st, key };
	char why[256];

	switch (storage_size(st, key, &out->total, why, sizeof(why))) {
	case 1: out->total = -1; return problem(out, 404, "not-found", "no such file");
	case 0: break;
	default: out->total = -1; return problem(out, 502, "storage-unavailable", "%s", why);
	}
	str_copy(out->content_type, files_content_type(key), sizeof(out->content_type));
	return answer_open(&src, range, out);
}

int files_serve(const struct storage *st, const char *key, const char *range_header, struct file_answer *out)
{
	struct stat sb;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	out->total = -1;
	if (!key || !storage_key_ok(key) || has_hidden_segment(key))
		return problem(out, 400, "invalid-key", "not a storage key");
	if (!storage_is_local(st))
		return answer_object(st, key, range_header, out);
	if ((fd = open_inside(st, key, out)) < 0)
		return -1;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return problem(out, 404, "not-found", "no such file");
	}
	out->total = sb.st_size;
	str_copy(out->content_type, files_content_type(key), sizeof(out->content_type));
	rc = answer_open(&(const struct source){ fd, st, key }, range_header, out);
	close(fd);
	return rc;
}

int files_answer(const struct storage *st, const char *secret, const char *key, const char *exp, const char *sig,
		 const char *range_header, time_t now, struct file_answer *out)
{
	char why[128];

	memset(out, 0, sizeof(*out));
	out->total = -1;
	if (!key || !storage_key_ok(key) || has_hidden_segment(key))
		return problem(out, 400, "invalid-key", "not a storage key");
	if (sign_check(secret, key, exp, sig, now, why, sizeof(why)) < 0)
		return problem(out, 403, strncmp(why, "expired", 7) ? "bad-signature" : "link-expired", "%s", why);
	return files_serve(st, key, range_header, out);
}

void files_answer_release(struct file_answer *a)
{
	free(a->body);
	a->body = NULL;
	a->len = 0;
}
