/*
 * CORS for the gateway (see cors.h). Origins are compared as exact strings,
 * as browsers send them: scheme, host and optional port, no path. Every
 * answer says Vary: Origin so a cache never hands one origin's headers to
 * another.
 */
#include "cors.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"
#include "banned.h"

#define MAX_ORIGINS 64
#define ALLOW_METHODS "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS" /* PUT: uploads on file storage */
#define ALLOW_HEADERS "Authorization, Content-Type, Idempotency-Key, Last-Event-ID"
#define EXPOSE_HEADERS "Location, Idempotent-Replayed, Retry-After"

struct cors {
	bool any;   /* "*": every origin */
	char *list; /* the origins, NUL-separated copy of the setting */
	const char *origins[MAX_ORIGINS];
	size_t n;
};

/* An origin as browsers serialise it: http(s)://host[:port], nothing after. */
static bool origin_valid(const char *o)
{
	const char *host = !strncmp(o, "https://", 8) ? o + 8 : !strncmp(o, "http://", 7) ? o + 7 : NULL;
	return host && *host && !strpbrk(host, "/?#@ \t") && host[strlen(host) - 1] != ':';
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static int add_origin(struct cors *c, char *o, bool credentials, char *err, size_t errlen)
{
	if (!strcmp(o, "*")) {
		if (credentials)
			return errbuf_set(err, errlen,
					  "REEL_CORS_ORIGINS: '*' is refused while API keys or JWTs are "
					  "in use; list the origins of your app");
		c->any = true;
		return 0;
	}
	if (!origin_valid(o))
		return errbuf_set(err, errlen,
				  "REEL_CORS_ORIGINS: '%s' is not an origin like https://app.example.com "
				  "(scheme, host, optional port, no path)",
				  o);
	if (c->n == MAX_ORIGINS)
		return errbuf_set(err, errlen, "REEL_CORS_ORIGINS: more than %d origins", MAX_ORIGINS);
	c->origins[c->n++] = o;
	return 0;
}

int cors_new(const char *origins, bool credentials, struct cors **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!origins || !origins[strspn(origins, " \t,")])
		return 0;
	struct cors *c = xcalloc(1, sizeof(*c));
	c->list = xstrdup(origins);
	for (char *p = c->list, *next; p; p = next) {
		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		char *o = trim(p);
		if (*o && add_origin(c, o, credentials, err, errlen) < 0) {
			cors_free(c);
			return -1;
		}
	}
	*out = c;
	return 0;
}

void cors_free(struct cors *c)
{
	if (!c)
		return;
	free(c->list);
	free(c);
}

bool cors_allows(const struct cors *c, const char *origin)
{
	if (!c || !origin)
		return false;
	if (c->any)
		return true;
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->origins[i], origin))
			return true;
	return false;
}

bool cors_before(const struct cors *c, struct http_exchange *x)
{
	struct http_request *rq = http_request_of(x);
	const char *origin = http_header(rq, "origin");
	bool preflight = origin && !strcmp(rq->method, "OPTIONS") && http_header(rq, "access-control-request-method");
	bool allowed = cors_allows(c, origin);

	http_add_header(x, "Vary", "Origin");
	if (allowed)
		http_add_header(x, "Access-Control-Allow-Origin", c->any ? "*" : origin);
	if (!preflight) {
		if (allowed)
			http_add_header(x, "Access-Control-Expose-Headers", EXPOSE_HEADERS);
		return false;
	}
	if (!allowed) {
		http_problem(x, 403, "origin-not-allowed", "Cross-origin requests from this origin are not allowed",
			     "the gateway's REEL_CORS_ORIGINS does not list this origin", NULL);
		return true;
	}
	http_add_header(x, "Access-Control-Allow-Methods", ALLOW_METHODS);
	http_add_header(x, "Access-Control-Allow-Headers", ALLOW_HEADERS);
	http_add_header(x, "Access-Control-Max-Age", CORS_MAX_AGE_S);
	http_reply(x, 204, NULL, "", 0);
	return true;
}
