/*
 * What every module uses: the attribute macros and allocation that aborts on
 * exhaustion (so call sites carry no NULL checks). String helpers are in
 * str.h, the caller's error buffer in errbuf.h, clocks in monotime.h, whole
 * files in file.h.
 */
#ifndef REEL_UTIL_H
#define REEL_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define WARN_UNUSED __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* Allocate or abort with a message; the caller owns the result. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* A newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

#endif
