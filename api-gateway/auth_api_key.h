/*
 * rk_ API keys: minted for the operator, checked for the gateway. The database
 * keeps only a key's prefix and hash, never the key.
 */
#ifndef REEL_AUTH_API_KEY_H
#define REEL_AUTH_API_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define AUTH_KEY_PREFIX_LEN 8 /* the lookup part of an API key */
#define AUTH_KEY_SECRET_MIN 32
#define AUTH_KEY_SECRET_MAX 128
#define AUTH_KEY_MINT_SECRET_LEN 43 /* base62: about 256 bits */
/* A buffer of this size holds any well-formed API key ("rk_" prefix "_" secret). */
#define AUTH_KEY_MAX (3 + AUTH_KEY_PREFIX_LEN + 1 + AUTH_KEY_SECRET_MAX + 1)

/*
 * API keys look like "rk_" + 8 lowercase letters or digits (the lookup prefix)
 * + "_" + 32..128 letters or digits (the secret). The database stores the
 * prefix and auth_api_key_hash of the whole key, never the key.
 */
/* Copies the prefix of a well-formed key into prefix; -1 when the key is malformed or prefix too small. */
int auth_api_key_split(const char *key, char *prefix, size_t prefixlen) WARN_UNUSED;
/* Lowercase hex SHA-256 of the whole key. */
void auth_api_key_hash(const char *key, char hex[65]);
/* Whether a well-formed key hashes to stored_hex, compared in constant time. */
bool auth_api_key_matches(const char *key, const char *stored_hex);
/*
 * Mints a new key from the kernel's generator into out (outlen >= AUTH_KEY_MAX)
 * and its prefix into prefix (prefixlen > AUTH_KEY_PREFIX_LEN). For the
 * operator command; aborts when no randomness is available.
 */
void auth_api_key_mint(char *out, size_t outlen, char *prefix, size_t prefixlen);

#endif
