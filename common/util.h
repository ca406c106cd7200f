/*
 * Small helpers every module uses: allocation that aborts on exhaustion (so
 * call sites carry no NULL checks), bounded string copies and clocks.
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

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t strlcpy_(char *dst, const char *src, size_t size);
/* Formats into a caller's error buffer (may be NULL); always returns -1. */
int errorf(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* Monotonic milliseconds and microseconds, for intervals. */
uint64_t now_ms(void);
uint64_t now_us(void);

/* path relative to the folder of the running binary ("../lib"); the caller frees. */
char *exe_relative(const char *path);
/* The whole file at path (NUL-terminated; *len bytes without it), or NULL when
 * it cannot be read or is larger than max. The caller frees. */
char *read_whole_file(const char *path, size_t max, size_t *len);

/* A random identifier of 2*nbytes lowercase hex chars into out (size >= 2*nbytes+1). */
void random_hex(char *out, size_t nbytes);
/* A 32-bit hash of a string (FNV-1a), for in-memory hash tables. */
uint32_t str_hash(const char *s);

#endif
