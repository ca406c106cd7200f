/*
 * The gateway's reads and writes of an owner's credits, all through the
 * ledger's SQL functions (deploy/migrations/015_billing.sql, 016_...): the
 * account as a request sees it (with the free plan's monthly grant made
 * lazily), a reservation for work a request starts, and the daily
 * check-in. Called only when billing is on (d->billing set).
 */
#ifndef REEL_CREDITS_H
#define REEL_CREDITS_H

#include <stdbool.h>

#include "api_problem.h"
#include "daemon.h"
#include "util.h"

/* An owner's account as a request sees it. */
struct credits_account {
	const struct billing_plan *plan; /* the plan it is held to (free when the file lacks its plan) */
	long available, reserved;
	char renews_at[40]; /* ISO 8601 UTC, or "" */
	char ends_at[40];
};

/* Loads owner's account, granting the free plan's monthly credits the
 * first time the owner is seen in a month. Runs in the caller's
 * transaction when one is open. 0, or -1 on a failed statement. */
int credits_seen(struct daemon *d, const char *owner, struct credits_account *a) WARN_UNUSED;
/* Reserves amount for job (its reservation grows when it has one). 1 done;
 * 0 when the owner is short, with p the 402 naming what is available; -1
 * (p a 503) on a failed statement. In the caller's transaction. */
int credits_reserve(struct daemon *d, const char *job, const char *owner, long amount,
		    struct api_problem *p) WARN_UNUSED;
/* owner's available credits into *available: 0 or -1. */
int credits_available(struct daemon *d, const char *owner, long *available) WARN_UNUSED;
/* Today's check-in: 1 granted, 0 already done today, -1 on a failed statement. */
int credits_checkin(struct daemon *d, const char *owner) WARN_UNUSED;

#endif
