/*
 * Growable byte buffers, as the HTTP server's connections keep them. A
 * buffer owns p; http_buf_reset frees it once it grew past a limit.
 */
#ifndef REEL_HTTP_BUF_H
#define REEL_HTTP_BUF_H

#include <stddef.h>

#include "util.h"

struct http_buf {
	char *p;
	size_t len, cap;
};

/* Grows b so that extra more bytes fit. */
void http_buf_reserve(struct http_buf *b, size_t extra);
/* Appends n bytes from p to b. */
void http_buf_add(struct http_buf *b, const void *p, size_t n);
/* Appends the string s (without its NUL). */
void http_buf_adds(struct http_buf *b, const char *s);
/* Appends printf-style text (without its NUL). */
void http_buf_printf(struct http_buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Empties b, freeing its memory when its capacity exceeds keep. */
void http_buf_reset(struct http_buf *b, size_t keep);

#endif
