/*
 * Payment webhooks: Stripe's (pay_stripe.c) and Lemon Squeezy's
 * (pay_lemonsqueezy.c) events are verified over their raw bytes, read into
 * one provider-neutral pay_event, and applied to the credit ledger exactly
 * once per event id (pay_apply.c).
 */
#ifndef REEL_PAY_H
#define REEL_PAY_H

#include <stddef.h>
#include <time.h>

#include "http_server.h"
#include "util.h"

#define PAY_ID_MAX 192

/* What an event asks for. */
enum pay_action {
	PAY_IGNORE,   /* an event type or state that changes nothing: recorded as ignored */
	PAY_PACK,     /* a one-time purchase of product (a pack): its credits */
	PAY_PLAN,     /* the subscription's state: plan of product, renews or ends at a time, or over */
	PAY_PERIOD,   /* a paid period of the subscription: the plan's monthly credits (and PAY_PLAN) */
	PAY_REFUND,   /* the purchase of reference refunded, refund_num/refund_den of it */
	PAY_PLAN_END, /* the subscription is over: back to free now */
};

/* One payment event as the apply step reads it; strings are "" when absent. */
struct pay_event {
	const char *provider; /* "stripe" or "lemonsqueezy" */
	char id[PAY_ID_MAX];  /* the event id deduplicated on */
	char type[64];
	enum pay_action action;
	char owner[128];             /* whom it credits, "" when the event names nobody */
	char product[128];           /* Stripe price id or Lemon Squeezy variant id */
	char subscription[128];      /* the provider's subscription id */
	char reference[128];         /* the payment a refund undoes (payment intent, order id) */
	time_t event_at;             /* when the provider made the event: orders subscription events */
	time_t renews_at;            /* the paid period's end while the plan renews, 0 = unknown */
	time_t ends_at;              /* when a canceled plan ends, 0 = not canceled */
	long refund_num, refund_den; /* the refunded share of the purchase */
	char why[128];               /* why an event is ignored */
};

/* 0 when one of header's v1 signatures is the HMAC of "t.body" under
 * secret and t is at most tolerance_s old; -1 with why. */
int pay_stripe_verify(const char *secret, const char *header, const char *body, size_t len, time_t now,
		      long tolerance_s, char *why, size_t whylen) WARN_UNUSED;
/* Reads a Stripe event into ev; -1 with why for a body that is not one. */
int pay_stripe_read(const char *body, size_t len, struct pay_event *ev, char *why, size_t whylen) WARN_UNUSED;
/* 0 when signature is the hex HMAC of body under secret; -1 with why. */
int pay_lemonsqueezy_verify(const char *secret, const char *signature, const char *body, size_t len, char *why,
			    size_t whylen) WARN_UNUSED;
/* Reads a Lemon Squeezy event into ev; -1 with why. */
int pay_lemonsqueezy_read(const char *body, size_t len, struct pay_event *ev, char *why, size_t whylen) WARN_UNUSED;
/* ISO-8601 UTC ("2026-01-02T03:04:05.000000Z") as unix seconds, 0 when absent or malformed. */
time_t pay_lemonsqueezy_time(const char *s);

struct cJSON;
/* The string at a dotted path of o (json_at), or "" when absent. */
const char *pay__str(const struct cJSON *o, const char *path);

/* 0 when billing is on and the provider's secret (named env) is set; else
 * answers x with a problem and returns -1. */
int pay_apply_ready(struct http_exchange *x, void *arg, const char *env, const char *secret) WARN_UNUSED;
/* Answers 400 bad-signature: a forged or stale event changes nothing. */
void pay_apply_refuse(struct http_exchange *x, void *arg, const char *why, const char *field);

/* The routes: POST /webhooks/stripe and /webhooks/lemonsqueezy. */
void pay_stripe_route(struct http_exchange *x, void *arg);
void pay_lemonsqueezy_route(struct http_exchange *x, void *arg);

/* Records ev and applies it in one transaction, then answers x: 200 once
 * committed (also for a replay, an ignored type or an unknown owner), 503
 * when the database failed (the provider delivers again). */
void pay_apply(struct http_exchange *x, void *arg, struct pay_event *ev);

#endif
