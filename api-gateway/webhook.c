/*
 * Standard Webhooks signing (shared/reference/providers.md, section 7) and
 * webhook_url checks: parsing, address ranges, and resolution on the libuv
 * thread pool. The address resolved here is the one the sender connects to
 * ("pinned"), so a name that answers differently a second time cannot turn
 * a checked URL into a request to a private address.
 */
#include "webhook.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "errbuf.h"
#include "banned.h"

#define PREFIX "whsec_"

int webhook_sign_key(const char *secret, unsigned char *key, size_t cap, char *why, size_t whylen)
{
	size_t n, len;
	if (!secret || strncmp(secret, PREFIX, strlen(PREFIX)))
		return errbuf_set(why, whylen, "the secret must start with " PREFIX);
	secret += strlen(PREFIX);
	n = strlen(secret);
	if (n == 0 || n > 128 ||
	    strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
		return errbuf_set(why, whylen, "the secret after " PREFIX " must be base64 of 16 to 64 bytes");
	/* The reference libraries accept a secret without its padding; so does base64_decode. */
	unsigned char *out = base64_decode(secret, n, false, &len);
	if (!out)
		return errbuf_set(why, whylen, "the secret after " PREFIX " is not valid base64");
	if (len < 16 || len > cap || len > WEBHOOK_KEY_MAX) {
		free(out);
		return errbuf_set(why, whylen, "the secret must hold 16 to 64 bytes, not %zu", len);
	}
	memcpy(key, out, len);
	free(out);
	return (int)len;
}

void webhook_sign(const unsigned char *key, size_t keylen, const char *id, long long timestamp, const char *body,
		  size_t len, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *msg = xasprintf("%s.%lld.", id, timestamp);
	size_t hl = strlen(msg);
	msg = xrealloc(msg, hl + len + 1);
	memcpy(msg + hl, body, len);
	/* HMAC only fails on allocation or a broken libcrypto. */
	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, hl + len, mac, &maclen))
		abort();
	free(msg);
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
}

static int parse_port(const char *p, size_t n, int *port)
{
	int v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*port = v;
	return v >= 1 && v <= 65535 ? 0 : -1;
}

/* Splits the authority [host]:port or host:port. */
static int split_authority(const char *a, size_t n, struct webhook_target *t)
{
	const char *end = a + n, *host = a, *colon;
	size_t hl;
	if (n && a[0] == '[') {
		const char *close = memchr(a, ']', n);
		if (!close)
			return -1;
		host = a + 1;
		hl = (size_t)(close - host);
		colon = close + 1 < end ? close + 1 : NULL;
		if (colon && *colon != ':')
			return -1;
	} else {
		colon = memchr(a, ':', n);
		hl = colon ? (size_t)(colon - a) : n;
	}
	if (hl == 0 || hl >= sizeof(t->host))
		return -1;
	memcpy(t->host, host, hl);
	t->host[hl] = '\0';
	for (size_t i = 0; i < hl; i++)
		if ((unsigned char)t->host[i] <= ' ' || strchr("/?#%\\\"<>[]@", t->host[i]))
			return -1;
	return colon ? parse_port(colon + 1, (size_t)(end - colon - 1), &t->port) : 0;
}

int webhook_addr_parse(const char *url, struct webhook_target *t, char *why, size_t whylen)
{
	const char *rest;
	memset(t, 0, sizeof(*t));
	if (strlen(url) > WEBHOOK_URL_MAX)
		return errbuf_set(why, whylen, "the URL is longer than %d bytes", WEBHOOK_URL_MAX);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return errbuf_set(why, whylen,
					  "the URL holds a space, control or non-ASCII byte (percent-encode it)");
	if (!strncmp(url, "https://", 8)) {
		t->https = true;
		t->port = 443;
		rest = url + 8;
	} else if (!strncmp(url, "http://", 7)) {
		t->port = 80;
		rest = url + 7;
	} else {
		return errbuf_set(why, whylen, "the URL must start with http:// or https://");
	}
	size_t n = strcspn(rest, "/?#");
	if (memchr(rest, '@', n))
		return errbuf_set(why, whylen, "the URL must not carry user information");
	if (split_authority(rest, n, t) < 0)
		return errbuf_set(why, whylen, "the URL's host or port is malformed");
	return 0;
}

static bool private_v4(uint32_t a)
{
	static const struct {
		uint32_t net, mask;
	} ranges[] = {
		{ 0x00000000, 0xff000000 }, /* 0/8 "this network" */
		{ 0x0a000000, 0xff000000 }, /* 10/8 */
		{ 0x64400000, 0xffc00000 }, /* 100.64/10 shared (CGNAT) */
		{ 0x7f000000, 0xff000000 }, /* 127/8 loopback */
		{ 0xa9fe0000, 0xffff0000 }, /* 169.254/16 link-local (cloud metadata) */
		{ 0xac100000, 0xfff00000 }, /* 172.16/12 */
		{ 0xc0000000, 0xffffff00 }, /* 192.0.0/24 protocol assignments */
		{ 0xc0000200, 0xffffff00 }, /* 192.0.2/24 documentation */
		{ 0xc0a80000, 0xffff0000 }, /* 192.168/16 */
		{ 0xc6120000, 0xfffe0000 }, /* 198.18/15 benchmarking */
		{ 0xc6336400, 0xffffff00 }, /* 198.51.100/24 documentation */
		{ 0xcb007100, 0xffffff00 }, /* 203.0.113/24 documentation */
		{ 0xe0000000, 0xe0000000 }, /* 224/3 multicast, reserved, broadcast */
	};
	for (size_t i = 0; i < ARRAY_SIZE(ranges); i++)
		if ((a & ranges[i].mask) == ranges[i].net)
			return true;
	return false;
}

static bool private_v6(const unsigned char *b)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const unsigned char zero[16];
	if (!memcmp(b, mapped, 12) || !memcmp(b, nat64, 12)) /* an IPv4 address in disguise */
		return private_v4((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
	if (!memcmp(b, zero, 15))
		return true; /* :: and ::1 */
	if (!memcmp(b, zero, 12))
		return true;                                                     /* IPv4-compatible, deprecated */
	return (b[0] & 0xfe) == 0xfc ||                                          /* fc00::/7 unique local */
	       (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||                        /* fe80::/10 link-local */
	       (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) ||                        /* fec0::/10 site-local */
	       b[0] == 0xff ||                                                   /* multicast */
	       (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) || /* documentation */
	       (b[0] == 0x20 && b[1] == 0x02);                                   /* 6to4 may embed anything */
}

bool webhook_addr_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return private_v4(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return private_v6(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
	return true;
}

struct resolve {
	uv_getaddrinfo_t req;
	webhook_addr_fn fn;
	void *arg;
	bool allow_private;
	struct webhook_target t;
};

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct resolve *r = req->data;
	char ip[INET6_ADDRSTRLEN] = "", why[160] = "";
	enum webhook_addr_result result = WEBHOOK_ADDR_UNRESOLVED;
	if (status < 0)
		snprintf(why, sizeof(why), "the host %.80s does not resolve (%s)", r->t.host, uv_strerror(status));
	for (struct addrinfo *a = res; a && !why[0]; a = a->ai_next) {
		if (!r->allow_private && webhook_addr_private(a->ai_addr)) {
			snprintf(why, sizeof(why), "the host %.80s resolves to a loopback, private or reserved address",
				 r->t.host);
			result = WEBHOOK_ADDR_REFUSED;
		} else if (!ip[0] && a->ai_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)a->ai_addr, ip, sizeof(ip));
		else if (!ip[0] && a->ai_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)a->ai_addr, ip, sizeof(ip));
	}
	if (!why[0] && !ip[0])
		snprintf(why, sizeof(why), "the host %.80s has no IPv4 or IPv6 address", r->t.host);
	uv_freeaddrinfo(res);
	r->fn(r->arg, why[0] ? result : WEBHOOK_ADDR_OK, why[0] ? NULL : ip, why);
	free(r);
}

void webhook_addr_resolve(uv_loop_t *loop, const char *url, bool allow_private, webhook_addr_fn fn, void *arg)
{
	struct resolve *r = xcalloc(1, sizeof(*r));
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	char why[160];
	r->fn = fn;
	r->arg = arg;
	r->allow_private = allow_private;
	r->req.data = r;
	if (webhook_addr_parse(url, &r->t, why, sizeof(why)) < 0) {
		free(r);
		fn(arg, WEBHOOK_ADDR_REFUSED, NULL, why);
	} else if (uv_getaddrinfo(loop, &r->req, on_resolved, r->t.host, NULL, &hints) < 0) {
		free(r);
		fn(arg, WEBHOOK_ADDR_UNRESOLVED, NULL, "the host cannot be resolved now");
	}
}
