/*
 * JSON-lines logging: one object per line on stderr with time, level,
 * daemon, instance, and the job, shot and trace of the message being handled
 * (a thread-local context set by the worker loop). The macros test the level
 * before evaluating their arguments.
 */
#ifndef REEL_LOG_H
#define REEL_LOG_H

#include "util.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* What a log line is about; fields may be NULL / negative when unknown. */
struct log_ctx {
	const char *job;   /* job id, or NULL */
	int shot;          /* shot index, or -1 */
	const char *trace; /* trace id carried in messages, or NULL */
};

extern enum log_level log__level;

/* Names the daemon in every line; call once at start. */
void log_init(const char *daemon);
/* Parses "debug", "info", "warn" or "error"; -1 on anything else. */
int log_parse_level(const char *s, enum log_level *out) WARN_UNUSED;
void log_set_level(enum log_level level);
/* Sends log lines (and anything else written to stderr) to path, appended;
 * NULL keeps stderr. -1 when it cannot be opened (errno says why). */
int log_open_file(const char *path) WARN_UNUSED;
/* Opens the file of log_open_file again (after logrotate moved it, on SIGHUP). */
int log_reopen(void) WARN_UNUSED;
/* Sets this thread's context; the strings must outlive its use. NULL clears. */
void log_set_ctx(const struct log_ctx *ctx);

void log__write(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Same as log__write at LOG_ERROR; returns -1 so callers can `return log_error(...)`. */
int log__error(const char *fmt, ...) PRINTF_LIKE(1, 2);

#define log_debug(...) \
	do { \
		if (log__level <= LOG_DEBUG) \
			log__write(LOG_DEBUG, __VA_ARGS__); \
	} while (0)
#define log_info(...) \
	do { \
		if (log__level <= LOG_INFO) \
			log__write(LOG_INFO, __VA_ARGS__); \
	} while (0)
#define log_warn(...) \
	do { \
		if (log__level <= LOG_WARN) \
			log__write(LOG_WARN, __VA_ARGS__); \
	} while (0)
#define log_error(...) log__error(__VA_ARGS__)

#endif
