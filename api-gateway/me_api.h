/*
 * The caller's own account: GET /v1/me (plan, credits, limits),
 * GET /v1/me/ledger (its credit rows, newest first) and POST
 * /v1/me/checkin (the daily check-in's credits).
 */
#ifndef REEL_ME_API_H
#define REEL_ME_API_H

struct http_exchange;

/* Route handlers; arg is the daemon. */
void me_api_get(struct http_exchange *x, void *arg);
void me_api_ledger(struct http_exchange *x, void *arg);
void me_api_checkin(struct http_exchange *x, void *arg);

#endif
