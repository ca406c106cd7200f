/*
 * Request authentication for the gateway: bearer JWTs (HS256 with a shared
 * secret as Supabase issues them, RS256/ES256 against a JWKS file as Clerk
 * issues them) and rk_ API keys, which the database keeps only as a hash.
 * Pure logic: no I/O besides reading the JWKS file in auth_new.
 */
#ifndef REEL_AUTH_H
#define REEL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "auth_jws.h"
#include "util.h"

#define AUTH_TOKEN_MAX 8192      /* longer bearer tokens are refused unread */
#define AUTH_DEFAULT_LEEWAY_S 60 /* clock skew tolerated on exp, nbf and iat */

/* Owned by the gateway; auth_free releases it. Read-only after auth_new, so any thread may verify with it. */
struct auth;

struct auth_settings {
	const char *jwt_secret; /* HS256 key as raw bytes (Supabase's JWT secret), >= 32 bytes; NULL or "" for none */
	const char *jwks_file;  /* path of a {"keys":[...]} document; NULL or "" for none */
	const char *audience;   /* required aud value; NULL or "" skips the check */
	long leeway_s;          /* 0..3600; AUTH_DEFAULT_LEEWAY_S is a sane choice */
};

/*
 * Loads the settings and the JWKS file (kty RSA with n/e, >= 2048 bits; kty EC
 * on P-256 with x/y; optional kid, alg, use). Keys of other types, algorithms
 * or uses are skipped; a malformed supported key, a private key or a file
 * without any usable key is refused. NULL with err filled on failure.
 */
struct auth *auth_new(const struct auth_settings *s, char *err, size_t errlen);
void auth_free(struct auth *a);
/* Whether any JWT verification is configured (a secret or JWKS keys). */
bool auth_enabled(const struct auth *a);

/* The token of an "Authorization: Bearer <token>" value, or NULL when it is not one. */
const char *auth_bearer_token(const char *authorization);
/* Whether a bearer token is meant as an API key (starts "rk_") rather than a JWT. */
bool auth_is_api_key(const char *token);

/*
 * Verifies a compact JWS "header.payload.signature" at time now. alg must be
 * HS256 (checked with the secret only) or RS256/ES256 (checked with the JWKS
 * key named by kid, or with every key of that type when there is no kid; a
 * JWKS key without kid serves only tokens without one); any other alg,
 * "none" included, and any crit header are refused. exp is required; exp, nbf
 * and iat are checked with the leeway; aud must name the configured audience
 * (a string or an array holding it). On AUTH_OK the sub claim (printable
 * ASCII, never truncated) is in sub, else sub is ""; why says in words what is
 * wrong (may be NULL). sub and sublen are required.
 */
enum auth_result auth_verify_jwt(const struct auth *a, const char *token, time_t now, char *sub, size_t sublen,
				 char *why, size_t whylen);

/* Lowercase hex SHA-256 of len bytes (request fingerprints). */
void auth_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
