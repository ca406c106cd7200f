/*
 * Standard Webhooks signatures for the gateway's outbound webhooks: the
 * secret is "whsec_" + base64 of the key, and each attempt carries
 * webhook-id, webhook-timestamp and webhook-signature "v1,<base64 of
 * HMAC-SHA256(key, id.timestamp.body)>".
 */
#ifndef REEL_WEBHOOK_SIGN_H
#define REEL_WEBHOOK_SIGN_H

#include <stddef.h>

#include "util.h"

#define WEBHOOK_KEY_MAX 64 /* bytes of a decoded secret */
#define WEBHOOK_SIG_LEN 48 /* "v1," + 44 base64 characters, plus the NUL */

/* Decodes "whsec_<base64>" (padding optional) into key; the key length
 * (at least 16 bytes), or -1 with why filled. */
int webhook_sign_key(const char *secret, unsigned char *key, size_t cap, char *why, size_t whylen) WARN_UNUSED;
/* The webhook-signature value for id, timestamp and the exact body into out
 * (WEBHOOK_SIG_LEN bytes). */
void webhook_sign(const unsigned char *key, size_t keylen, const char *id, long long timestamp, const char *body,
		  size_t len, char *out);

#endif
