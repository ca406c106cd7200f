/*
 * Writes log lines as JSON objects. Each line is built in a local buffer and
 * written with one write(2), so lines from threads never interleave.
 */
#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "str.h"
#include "banned.h"

enum log_level log__level = LOG_INFO;
static char daemon_name[64] = "reel";
static char instance[80];
static _Thread_local const struct log_ctx *tls_ctx;

static char log_path[4096]; /* REEL_LOG_FILE, empty for stderr */

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_init(const char *daemon)
{
	char host[64] = "";
	str_copy(daemon_name, daemon, sizeof(daemon_name));
	gethostname(host, sizeof(host) - 1);
	snprintf(instance, sizeof(instance), "%s:%ld", host, (long)getpid());
}

/* dup2 swaps stderr in one step, so a line written meanwhile goes to either file whole. */
int log_reopen(void)
{
	if (!log_path[0])
		return 0;
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	int rc = dup2(fd, STDERR_FILENO) < 0 ? -1 : 0;
	close(fd);
	return rc;
}

int log_open_file(const char *path)
{
	if (!path || !*path)
		return 0;
	str_copy(log_path, path, sizeof(log_path));
	return log_reopen();
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void log_set_level(enum log_level level)
{
	log__level = level;
}

void log_set_ctx(const struct log_ctx *ctx)
{
	tls_ctx = ctx;
}

/* Appends s as JSON string content, escaping what JSON requires. */
static size_t put_escaped(char *buf, size_t pos, size_t cap, const char *s)
{
	for (; *s && pos + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[pos++] = '\\';
			buf[pos++] = (char)c;
		} else if (c == '\n') {
			buf[pos++] = '\\';
			buf[pos++] = 'n';
		} else if (c < 0x20) {
			pos += (size_t)snprintf(buf + pos, cap - pos, "\\u%04x", c);
		} else {
			buf[pos++] = (char)c;
		}
	}
	return pos;
}

static size_t put_field(char *buf, size_t pos, size_t cap, const char *name, const char *value)
{
	if (pos + strlen(name) + 8 >= cap)
		return pos;
	pos += (size_t)snprintf(buf + pos, cap - pos, ",\"%s\":\"", name);
	pos = put_escaped(buf, pos, cap, value);
	if (pos + 2 < cap)
		buf[pos++] = '"';
	return pos;
}

PRINTF_LIKE(2, 0) static void vwrite_line(enum log_level level, const char *fmt, va_list ap)
{
	char msg[2048], buf[4096], ts[40];
	struct timespec now;
	struct tm tm;
	size_t pos;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	pos = (size_t)snprintf(buf, sizeof(buf), "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\"", ts, now.tv_nsec / 1000000,
			       level_names[level]);
	pos = put_field(buf, pos, sizeof(buf), "daemon", daemon_name);
	pos = put_field(buf, pos, sizeof(buf), "instance", instance);
	if (tls_ctx && tls_ctx->job)
		pos = put_field(buf, pos, sizeof(buf), "job", tls_ctx->job);
	if (tls_ctx && tls_ctx->shot >= 0 && pos + 24 < sizeof(buf))
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, ",\"shot\":%d", tls_ctx->shot);
	if (tls_ctx && tls_ctx->trace)
		pos = put_field(buf, pos, sizeof(buf), "trace", tls_ctx->trace);
	pos = put_field(buf, pos, sizeof(buf), "msg", msg);
	if (pos + 3 > sizeof(buf))
		pos = sizeof(buf) - 3;
	buf[pos++] = '}';
	buf[pos++] = '\n';
	ssize_t unused = write(STDERR_FILENO, buf, pos);
	(void)unused;
}

void log__write(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwrite_line(level, fmt, ap);
	va_end(ap);
}

int log__error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwrite_line(LOG_ERROR, fmt, ap);
	va_end(ap);
	return -1;
}
