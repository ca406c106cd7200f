/*
 * Base64 in both alphabets (RFC 4648 standard and URL-safe), as vendors'
 * signatures, secrets, keys and data: URIs carry them. Decoding tolerates
 * missing padding and refuses anything else that is not the alphabet; the
 * strict decoder, for tokens, refuses padding and non-canonical endings too.
 */
#ifndef REEL_BASE64_H
#define REEL_BASE64_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Decodes len chars of s (url: the URL-safe alphabet); NULL when malformed.
 * The caller frees; *outlen gets the byte count. */
unsigned char *base64_decode(const char *s, size_t len, bool url, size_t *outlen);
/* Unpadded base64url as JWS requires (RFC 7515 2): no padding, no character
 * outside the URL-safe alphabet, and the unused low bits of the last
 * character zero. NULL when s is not such text; otherwise as base64_decode. */
unsigned char *base64_decode_strict(const char *s, size_t len, size_t *outlen);
/* Standard base64 with padding of n bytes, NUL-terminated; the caller frees. */
char *base64_encode(const unsigned char *data, size_t n);

#endif
