/*
 * String helpers shared by every daemon.
 */
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "banned.h"

size_t str_copy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);
	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

void str_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[64];
	if (nbytes > sizeof(buf))
		nbytes = sizeof(buf);
	/* The kernel's generator: no library state, safe on any thread. */
	if (getrandom(buf, nbytes, 0) != (ssize_t)nbytes) {
		fprintf(stderr, "fatal: no randomness available\n");
		abort();
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[buf[i] >> 4];
		out[2 * i + 1] = hex[buf[i] & 15];
	}
	out[2 * nbytes] = '\0';
}
