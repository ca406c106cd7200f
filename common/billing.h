/*
 * Billing configuration: REEL_BILLING_FILE's prices (credits per kept
 * vendor result, by stage and provider), plans (limits and monthly
 * credits), one-time credit packs and the daily check-in's credits. Every
 * daemon loads it at start and refuses a bad file naming the field; without
 * the file billing is off and nothing is charged.
 */
#ifndef REEL_BILLING_H
#define REEL_BILLING_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* What an owner's plan allows. */
struct billing_plan {
	char *name;
	long monthly_credits;       /* granted per paid period (free: per calendar month) */
	int max_height;             /* 720 or 1080: max_resolution */
	long max_shots;             /* shots a job may plan */
	long max_jobs_in_flight;    /* unfinished jobs at once */
	long retention_days;        /* finished jobs' media are kept this long, 0 = the fleet's setting */
	bool i2v;                   /* may animate shots (motion i2v) */
	char *stripe_price;         /* the Stripe price that buys it, or NULL */
	char *lemonsqueezy_variant; /* the Lemon Squeezy variant that buys it, or NULL */
};

/* A one-time pack of credits. */
struct billing_pack {
	char *name;
	long credits;
	char *stripe_price;
	char *lemonsqueezy_variant;
};

struct billing_price;

struct billing {
	struct billing_price *prices; /* by stage, provider "*" the stage's default */
	size_t n_prices;
	struct billing_plan *plans; /* "free" always among them */
	size_t n_plans;
	struct billing_pack *packs;
	size_t n_packs;
	long checkin_credits;
	long reserve_margin_pct; /* REEL_RESERVE_MARGIN: added to a job's estimate */
};

/* Reads and checks path. NULL with err naming the file and the field. */
struct billing *billing_load(const char *path, long reserve_margin_pct, char *err, size_t errlen) WARN_UNUSED;
void billing_free(struct billing *b);
/* Credits for one kept result of stage made by provider: the provider's
 * price, else the stage's "*", else 0. Merge's price is per started minute. */
long billing_price(const struct billing *b, const char *stage, const char *provider);
/* The plan or pack called name, or NULL. */
const struct billing_plan *billing_plan(const struct billing *b, const char *name);
const struct billing_pack *billing_pack(const struct billing *b, const char *name);
/* The plan or pack a payment provider's price (stripe) or variant
 * (lemonsqueezy) id buys, or NULL. */
const struct billing_plan *billing_plan_by_product(const struct billing *b, const char *provider, const char *id);
const struct billing_pack *billing_pack_by_product(const struct billing *b, const char *provider, const char *id);

#endif
