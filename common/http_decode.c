/*
 * Percent-decoding of request paths, route parameters and query values
 * (RFC 3986 2.1; "+" as a space in queries only).
 */
#include "http_decode.h"

#include <ctype.h>
#include <string.h>

#include "banned.h"

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

long http_decode_pct(char *dst, size_t cap, const char *src, size_t n, bool plus)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++, o++) {
		if (o + 1 >= cap)
			return -1;
		char ch = src[i];
		if (ch == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = hexval((unsigned char)src[i + 1]);
			int lo = hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			ch = (char)(hi << 4 | lo);
			i += 2;
		} else if (ch == '+' && plus) {
			ch = ' ';
		}
		dst[o] = ch;
	}
	if (cap)
		dst[o] = '\0';
	return (long)o;
}

/* "." and ".." segments only serve to climb out of a directory. */
int http_decode_path(char *dst, size_t cap, const char *src, size_t n)
{
	long len = http_decode_pct(dst, cap, src, n, false);
	if (len < 0 || memchr(dst, '\0', (size_t)len))
		return -1;
	for (const char *seg = dst; seg; seg = strchr(seg, '/')) {
		seg++;
		size_t sl = strcspn(seg, "/");
		if ((sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.'))
			return -1;
	}
	return 0;
}
