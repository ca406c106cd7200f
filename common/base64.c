/*
 * Base64 decoding and encoding without OpenSSL's BIO machinery, which
 * insists on line breaks and padding that vendors do not send.
 */
#include "base64.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

static const char std_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value_of(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/* strict: no padding, and the unused low bits of the last character are zero,
 * so each byte string has exactly one accepted spelling (JWS needs that). */
static unsigned char *decode(const char *s, size_t len, bool url, bool strict, size_t *outlen)
{
	while (!strict && len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return NULL;
	unsigned char *out = xmalloc(len / 4 * 3 + 3);
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = value_of((unsigned char)s[i], url);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (strict && (acc & ((1u << bits) - 1)))
		goto bad;
	*outlen = n;
	return out;
bad:
	free(out);
	return NULL;
}

unsigned char *base64_decode(const char *s, size_t len, bool url, size_t *outlen)
{
	return decode(s, len, url, false, outlen);
}

unsigned char *base64_decode_strict(const char *s, size_t len, size_t *outlen)
{
	return decode(s, len, true, true, outlen);
}

char *base64_encode(const unsigned char *data, size_t n)
{
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *p = out;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)data[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)data[i + 1] << 8;
		if (i + 2 < n)
			v |= data[i + 2];
		*p++ = std_alphabet[(v >> 18) & 63];
		*p++ = std_alphabet[(v >> 12) & 63];
		*p++ = i + 1 < n ? std_alphabet[(v >> 6) & 63] : '=';
		*p++ = i + 2 < n ? std_alphabet[v & 63] : '=';
	}
	*p = '\0';
	return out;
}
