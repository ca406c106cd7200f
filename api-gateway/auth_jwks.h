/*
 * The public keys of a JWKS file (RFC 7517) that gateway tokens are checked
 * with: RSA keys of 2048 to 8192 bits and EC keys on P-256, built through
 * OpenSSL 3's EVP_PKEY_fromdata. Read-only once loaded, so any thread may verify.
 */
#ifndef REEL_AUTH_JWKS_H
#define REEL_AUTH_JWKS_H

#include <stddef.h>

/* Owned by struct auth; auth_jwks_free releases it. */
struct auth_jwks;

enum auth_jwks_type { AUTH_JWKS_RSA, AUTH_JWKS_EC };

/*
 * Loads path (kty RSA with n/e; kty EC on P-256 with x/y; optional kid, alg,
 * use). Keys of other types, algorithms or uses are skipped; a malformed
 * supported key, a private key or a file without any usable key is refused.
 * NULL with err filled on failure.
 */
struct auth_jwks *auth_jwks_load(const char *path, char *err, size_t errlen);
void auth_jwks_free(struct auth_jwks *ks);
/*
 * Checks sig (JWS form: RS256 PKCS#1 v1.5, ES256 raw r || s) over input with
 * the key named kid, or with every key of the type when kid is NULL (a key
 * without kid serves only tokens without one). 1 when a key verifies it,
 * 0 when keys were tried and none did, -1 when ks (may be NULL) holds no such key.
 */
int auth_jwks_verify(const struct auth_jwks *ks, const char *kid, enum auth_jwks_type type, const char *input,
		     size_t inlen, const unsigned char *sig, size_t siglen);

#endif
