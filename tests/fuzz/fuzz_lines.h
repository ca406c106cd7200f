/*
 * The fuzz targets whose input is a few header lines, then a body: cutting
 * those lines off the input, in place.
 */
#ifndef FUZZ_LINES_H
#define FUZZ_LINES_H

#include <string.h>

/* Cuts the next line off *p (NUL-terminated in place); NULL when none is left. */
static inline char *fuzz_line(char **p)
{
	char *s = *p, *nl = s ? strchr(s, '\n') : NULL;
	if (!s)
		return NULL;
	if (nl)
		*nl++ = '\0';
	*p = nl;
	return s;
}

#endif
