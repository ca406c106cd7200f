/*
 * Compact JWS (RFC 7515) verification for the gateway's bearer JWTs: the
 * signature (HS256 with the shared secret, RS256/ES256 with a JWKS key), then
 * the claims (RFC 7519). Every byte of a token is untrusted: decoding is
 * strict, and nothing in a payload is read before its signature has been checked.
 */
#ifndef REEL_AUTH_JWS_H
#define REEL_AUTH_JWS_H

#include <stddef.h>
#include <time.h>

#include "auth_jwks.h"
#include "util.h"

#define AUTH_SUB_MAX 256 /* a sub buffer of this size holds any accepted sub */

enum auth_result {
	AUTH_OK,
	AUTH_MISSING, /* no credentials given */
	AUTH_INVALID, /* malformed, badly signed, wrong audience, not yet valid, unusable sub */
	AUTH_EXPIRED, /* well signed but past exp + leeway: the client should refresh */
};

/* What a token is checked against; the pointers belong to struct auth. */
struct auth_jws_policy {
	const unsigned char *secret; /* HS256 key, or NULL */
	size_t secretlen;
	const char *audience; /* or NULL: aud not checked */
	long leeway;
	const struct auth_jwks *jwks; /* or NULL */
};

/*
 * Verifies the len bytes of token "header.payload.signature" at time now, as
 * auth_verify_jwt (auth.h) documents; the caller checks presence and size first. sub must
 * hold "" on entry and gets the sub claim on AUTH_OK.
 */
enum auth_result auth_jws_verify(const struct auth_jws_policy *a, const char *token, size_t len, time_t now, char *sub,
				 size_t sublen, char *why, size_t whylen);

#endif
