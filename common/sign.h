/*
 * Signed, expiring download URLs for local storage: the gateway hands out
 * "<base>/<key>?exp=<unix seconds>&sig=<hex HMAC-SHA256>" and later serves
 * the key only if the signature matches and exp has not passed. The MAC covers
 * a purpose tag, the key and exp, so a URL cannot be stretched to another file
 * or a later time, and the same secret used elsewhere never validates here.
 */
#ifndef REEL_SIGN_H
#define REEL_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util.h"

#define SIGN_DEFAULT_TTL 3600 /* seconds a download URL stays valid unless configured */
#define SIGN_EXP_STEP 300     /* sign_expiry rounds up to this many seconds */
#define SIGN_HEX_LEN 64       /* characters of a signature */

/* The URL of key under base ("/v1/files" or "http://host/v1/files"; a trailing
 * '/' is dropped), valid until exp. key is the decoded storage key; each of its
 * segments is percent-encoded. secret must be non-empty. The caller frees. */
char *sign_file_url(const char *secret, const char *base, const char *key, time_t exp);

/* The expiry for a URL handed out at now and meant to live ttl seconds, rounded
 * up to the next SIGN_EXP_STEP so that a resource fetched repeatedly carries the
 * same URL for a while (players and browsers keep their cache). */
time_t sign_expiry(time_t now, long ttl);

/* The hex signature of key and exp (decimal text) into out (SIGN_HEX_LEN + 1 bytes). */
void sign_compute(const char *secret, const char *key, const char *exp, char *out);

/* 0 when sig is the signature of key and exp and exp is not before now; -1 with
 * why starting with "malformed", "bad signature", "expired" or "no secret".
 * The signature is checked before the expiry, so "expired" is only ever said
 * of a genuine URL. The comparison takes the same time wherever it differs. */
int sign_check(const char *secret, const char *key, const char *exp, const char *sig, time_t now, char *why,
	       size_t whylen) WARN_UNUSED;

/* The lowercase hex HMAC-SHA256 of msg under key into out (SIGN_HEX_LEN + 1
 * bytes): the signature payment providers put in their webhook headers. */
void sign_hmac_hex(const void *key, size_t keylen, const void *msg, size_t len, char *out);
/* True when got (len bytes, any case) is the hex signature want; the comparison
 * takes the same time wherever they differ. */
bool sign_hex_equal(const char *want, const char *got, size_t len);

/* key with every byte outside A-Z a-z 0-9 "-._~" percent-encoded, except the '/'
 * between segments (so spaces, '?', '#', '%' and UTF-8 survive a URL). The caller frees. */
char *sign_encode_key(const char *key);

#endif
