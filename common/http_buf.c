/*
 * Growable byte buffers for the HTTP server: a connection keeps its buffers
 * across requests, so they double as they grow and shrink back only when
 * one big request made them large.
 */
#include "http_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

void http_buf_reserve(struct http_buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void http_buf_add(struct http_buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	http_buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void http_buf_adds(struct http_buf *b, const char *s)
{
	http_buf_add(b, s, strlen(s));
}

void http_buf_printf(struct http_buf *b, const char *fmt, ...)
{
	va_list ap;
	http_buf_reserve(b, 64);
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		http_buf_reserve(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void http_buf_reset(struct http_buf *b, size_t keep)
{
	b->len = 0;
	if (b->cap > keep) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}
