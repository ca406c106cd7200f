/*
 * Percent-decoding for the HTTP server (paths, route parameters, query values).
 */
#ifndef REEL_HTTP_DECODE_H
#define REEL_HTTP_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Decodes n bytes of src into dst (cap bytes, room for a NUL kept; plus: "+"
 * means a space); returns the decoded length, or -1 on a bad escape or overflow. */
long http_decode_pct(char *dst, size_t cap, const char *src, size_t n, bool plus);
/* Percent-decodes a path into dst; -1 on a bad escape, NUL, "." or "..". */
int http_decode_path(char *dst, size_t cap, const char *src, size_t n) WARN_UNUSED;

#endif
