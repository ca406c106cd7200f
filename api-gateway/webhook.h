/*
 * Outbound webhooks' pure parts: Standard Webhooks signatures (the secret is
 * "whsec_" + base64 of the key; each attempt carries webhook-id,
 * webhook-timestamp and webhook-signature "v1,<base64 of HMAC-SHA256(key,
 * id.timestamp.body)>"), and where a webhook may go: http(s) URLs whose host
 * resolves only to public addresses, unless the operator allows private ones.
 */
#ifndef REEL_WEBHOOK_H
#define REEL_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

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

#define WEBHOOK_URL_MAX 2048

struct webhook_target {
	bool https;
	char host[256]; /* IPv6 literals without their brackets */
	int port;
};

/* Parses an http:// or https:// URL without user info; -1 with why. */
int webhook_addr_parse(const char *url, struct webhook_target *t, char *why, size_t whylen) WARN_UNUSED;
/* Whether sa (AF_INET or AF_INET6) is an address a webhook must not reach. */
bool webhook_addr_private(const struct sockaddr *sa);

enum webhook_addr_result {
	WEBHOOK_ADDR_OK,         /* ip is the address to connect to */
	WEBHOOK_ADDR_REFUSED,    /* malformed, or reaches a private address: why says which */
	WEBHOOK_ADDR_UNRESOLVED, /* the name does not resolve now: why says so */
};

/* Called once with the outcome; ip is NULL unless WEBHOOK_ADDR_OK. */
typedef void (*webhook_addr_fn)(void *arg, enum webhook_addr_result res, const char *ip, const char *why);
/* Resolves url's host on the thread pool; refuses it when any address is
 * private and allow_private is false. fn runs on the loop, also for a URL
 * that does not parse. */
void webhook_addr_resolve(uv_loop_t *loop, const char *url, bool allow_private, webhook_addr_fn fn, void *arg);

#endif
