/*
 * Cross-origin access for browser apps (CORS): REEL_CORS_ORIGINS lists the
 * exact origins whose pages may call the API. Preflights from them answer
 * 204 with the methods and headers the API takes; their real requests get
 * the origin echoed and the headers a client needs exposed. Other origins
 * get no CORS headers at all, so browsers keep their pages out.
 */
#ifndef REEL_CORS_H
#define REEL_CORS_H

#include <stdbool.h>
#include <stddef.h>

#include "http_server.h"
#include "util.h"

#define CORS_MAX_AGE_S "600" /* how long a browser may reuse a preflight's answer */

/* Owned by the gateway; cors_free releases it. Read-only after cors_new. */
struct cors;

/* Parses the comma-separated origins ("https://app.example.com",
 * "http://localhost:3000", or "*" for any). "*" is refused when credentials
 * is true: any page on the web could then act with a signed-in user's token.
 * *out is NULL when origins is NULL or empty (CORS off). -1 with err. */
int cors_new(const char *origins, bool credentials, struct cors **out, char *err, size_t errlen) WARN_UNUSED;
void cors_free(struct cors *c);

/* Whether pages of origin may call the API. */
bool cors_allows(const struct cors *c, const char *origin);

/* The HTTP server's before-hook (http_server_opts.before) for c: answers a
 * preflight (204 for a listed origin, 403 problem+json for another) and
 * returns true; on any other request adds the CORS headers and returns false. */
bool cors_before(const struct cors *c, struct http_exchange *x);

#endif
