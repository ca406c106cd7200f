/*
 * Share links: a finished job's video for anyone holding the link, with no
 * account. The owner creates, lists and revokes them under
 * /v1/jobs/{id}/shares (shares.c); the public page and its media are served
 * under /s/{token} (share_page.c).
 */
#ifndef REEL_SHARES_H
#define REEL_SHARES_H

#include <stdbool.h>

#include "http_server.h"

struct gateway;

#define SHARE_TOKEN_BYTES 20                    /* random bytes in a token: 160 bits */
#define SHARE_TOKEN_LEN (2 * SHARE_TOKEN_BYTES) /* its hex length */
#define SHARE_ID_LEN 16                         /* hex digits of the hash naming a link in listings */
#define SHARE_TTL_MAX (10L * 365 * 86400)       /* the longest and default lifetime, in seconds */

/* POST /v1/jobs/{id}/shares: 201 {"id","token","url","expires_at"} on a done job, 409 before. */
void shares_create(struct http_exchange *x, void *arg);
/* GET /v1/jobs/{id}/shares: {"data":[{"id","status","created_at","expires_at","revoked_at","views"}]}. */
void shares_list(struct http_exchange *x, void *arg);
/* DELETE /v1/jobs/{id}/shares/{token}: revokes by token or by listed id; 204, or 404. */
void shares_revoke(struct http_exchange *x, void *arg);

/* True when token has a share token's form (SHARE_TOKEN_LEN lower-case hex digits). */
bool shares_token_ok(const char *token);
/* The SHA-256 of token as stored, in hex. */
void shares_token_hash(const char *token, char hex[65]);
/* The absolute URL of path (starting with '/') as the outside reaches the
 * gateway: REEL_PUBLIC_BASE_URL, else the gateway's own address. The caller frees. */
char *shares_public_url(const struct gateway *g, const char *path);

#endif
