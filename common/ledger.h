/*
 * The credit ledger's writes, in the caller's transaction: reserving a new
 * job's estimate, capturing what a kept vendor result costs, crediting an
 * owner. The rules themselves are SQL functions (deploy/migrations/
 * 015_billing.sql); a job's reservation is released by the transaction that
 * ends it, whoever ends it.
 */
#ifndef REEL_LEDGER_H
#define REEL_LEDGER_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct db;

/* One kept result to charge. */
struct ledger_charge {
	const char *job;
	const char *stage;    /* parse, render, i2v, tts, merge: a key of the price table */
	const char *provider; /* who made it */
	int shot;             /* -1 for a job-level result */
	long credits;
};

/* Captures every charge with one statement (reel_capture_batch). A job
 * made while billing was off has no reservation and is not charged; a
 * shot's stage already charged since its last regenerate is not charged
 * again. *overrun (may be NULL) counts the owners whose available credits
 * could not cover what went past their jobs' reservations. 0 or -1 on a
 * failed statement. */
int ledger_capture(struct db *db, const struct ledger_charge *c, size_t n, size_t *overrun) WARN_UNUSED;
/* Reserves amounts[i] of owners[i]'s available credits for jobs[i], one
 * statement for the group; ok[i] tells which were there. 0 or -1. */
int ledger_reserve(struct db *db, const char *const *jobs, const char *const *owners, const long *amounts, size_t n,
		   bool *ok) WARN_UNUSED;
/* One grant, purchase, subscription, checkin, refund or adjust row of amount
 * (negative takes credits back). payment and reason may be NULL. 0 or -1. */
int ledger_credit(struct db *db, const char *owner, const char *kind, long amount, const char *payment,
		  const char *reason) WARN_UNUSED;

#endif
