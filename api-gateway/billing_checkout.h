/*
 * POST /v1/billing/checkout: a hosted checkout page at Stripe (Checkout
 * Sessions) or Lemon Squeezy (checkouts) for one of REEL_BILLING_FILE's
 * packs or plans, carrying the caller as owner so the provider's webhook
 * (webhook-receiver, pay.h) credits the right account.
 */
#ifndef REEL_BILLING_CHECKOUT_H
#define REEL_BILLING_CHECKOUT_H

#include "http_server.h"

struct gateway;

/* The route: {"provider","item","success_url","cancel_url"} -> 200 {"url"}. */
void billing_checkout_post(struct http_exchange *x, void *arg);
/* Cancels the checkouts in flight (their callers' connections are closing). */
void billing_checkout_stop(struct gateway *g);

#endif
