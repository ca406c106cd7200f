/*
 * Who is asking. A bearer token is either an rk_ API key, looked up by its
 * prefix and compared with the stored hash, or a JWT whose sub owns the
 * job. Without any authentication configured every caller is "anonymous" and
 * the gateway only listens on loopback.
 */
#include "identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "auth_api_key.h"
#include "cors.h"
#include "db.h"
#include "gateway.h"
#include "http_server.h"
#include "live_api.h"
#include "log.h"
#include "rate_check.h"
#include "str.h"
#include "banned.h"

#define ANONYMOUS "anonymous"

static int is_loopback(const char *addr)
{
	return addr[0] == ':' || strncmp(addr, "127.", 4) == 0 || strncmp(addr, "localhost:", 10) == 0 ||
	       strncmp(addr, "[::1]:", 6) == 0;
}

int identity_configure(struct daemon *d, char *err, size_t errlen)
{
	struct gateway *g = d->app;
	const struct auth_settings s = { g->cfg.jwt_secret, g->cfg.jwks_file, g->cfg.jwt_audience,
					 g->cfg.jwt_leeway_s };
	if (live_api_webhook_configure(g, err, errlen) < 0)
		return -1;
	if ((s.jwt_secret && *s.jwt_secret) || (s.jwks_file && *s.jwks_file) || g->cfg.require_auth) {
		if (!(g->auth = auth_new(&s, err, errlen)))
			return -1;
	} else if (!is_loopback(d->cfg.http_addr)) {
		const char *colon = strrchr(d->cfg.http_addr, ':');
		char *addr = xasprintf("127.0.0.1%s", colon ? colon : ":8080");
		log_warn("no authentication configured (REEL_JWT_SECRET, REEL_JWKS_FILE or REEL_REQUIRE_AUTH): "
			 "listening on %s instead of %s",
			 addr, d->cfg.http_addr);
		free(d->cfg.http_addr);
		d->cfg.http_addr = addr;
	} else {
		log_warn("no authentication configured: every caller is '%s'; listening on loopback only", ANONYMOUS);
	}
	return cors_new(g->cfg.cors_origins, g->auth != NULL, &g->cors, err, errlen);
}

static int refuse(struct http_exchange *x, const char *detail)
{
	http_add_header(x, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
	http_problem(x, 401, "unauthorized", "Authentication is required", detail, NULL);
	return -1;
}

/* The owner of an API key, or -1 after answering. */
static int owner_of_key(struct http_exchange *x, struct gateway *g, const char *key, char *owner, size_t ownerlen)
{
	static const char sql[] = "SELECT owner, hash FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL";
	char prefix[AUTH_KEY_PREFIX_LEN + 1];
	const char *params[] = { prefix };
	PGresult *r;
	int rc = -1;
	if (auth_api_key_split(key, prefix, sizeof(prefix)) < 0)
		return refuse(x, "the API key is malformed");
	if (!(r = db_exec(g->d->db, sql, 1, params))) {
		http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
		return -1;
	}
	if (PQntuples(r) == 1 && auth_api_key_matches(key, PQgetvalue(r, 0, 1))) {
		str_copy(owner, PQgetvalue(r, 0, 0), ownerlen);
		rc = 0;
	} else {
		refuse(x, "the API key is unknown or revoked");
	}
	PQclear(r);
	return rc;
}

static int identify(struct http_exchange *x, struct gateway *g, char *owner, size_t ownerlen)
{
	const char *token;
	char sub[AUTH_SUB_MAX], why[256];
	if (!g->auth) {
		str_copy(owner, ANONYMOUS, ownerlen);
		return 0;
	}
	token = auth_bearer_token(http_header(http_request_of(x), "authorization"));
	if (!token)
		return refuse(x, "send Authorization: Bearer with a token or an rk_ API key");
	if (auth_is_api_key(token))
		return owner_of_key(x, g, token, owner, ownerlen);
	switch (auth_verify_jwt(g->auth, token, time(NULL), sub, sizeof(sub), why, sizeof(why))) {
	case AUTH_OK:
		if (strlen(sub) >= ownerlen)
			return refuse(x, "the token's subject is too long");
		str_copy(owner, sub, ownerlen);
		return 0;
	case AUTH_EXPIRED: return refuse(x, "the token has expired");
	default: return refuse(x, why);
	}
}

/* Every authenticated API request also draws on its user's rate limit. */
int identity_authenticate(struct http_exchange *x, struct gateway *g, char *owner, size_t ownerlen)
{
	if (identify(x, g, owner, ownerlen) < 0)
		return -1;
	return rate_check(x, g, owner);
}
