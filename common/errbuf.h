/*
 * A caller's error buffer: constructors and parsers explain a failure there
 * and never print (CONTRIBUTING.md, "Errors and ownership").
 */
#ifndef REEL_ERRBUF_H
#define REEL_ERRBUF_H

#include <stddef.h>

#include "util.h"

/* Formats into err (errlen bytes; err may be NULL); always returns -1, so a
 * failing function ends with `return errbuf_set(err, errlen, ...)`. */
int errbuf_set(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

#endif
