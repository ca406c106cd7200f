/*
 * Where an outbound webhook may go: http(s) URLs whose host resolves only to
 * public addresses. Loopback, private, link-local, shared, multicast and
 * reserved ranges are refused (a user's webhook_url must not reach into the
 * gateway's own network) unless the operator allows them.
 */
#ifndef REEL_WEBHOOK_ADDR_H
#define REEL_WEBHOOK_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#include "util.h"

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
