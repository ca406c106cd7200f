/*
 * Charging for kept results, for the stages that store them: the price of
 * each result from the price table, its capture in the transaction that
 * stores it, and the pause of a job whose owner ran out of credits so that
 * nothing more is spent for it until a top-up and a retry.
 */
#ifndef REEL_CHARGE_H
#define REEL_CHARGE_H

#include <stdbool.h>
#include <stddef.h>

#include "ledger.h"
#include "util.h"

struct billing;
struct db;
struct events;

/* The error code and message of a job paused for want of credits. */
#define CHARGE_CODE "insufficient-credits"
extern const char charge_message[];

/* c = units x the price of stage's result made by provider, for job (shot -1: job-level). */
void charge_set(struct ledger_charge *c, const struct billing *b, const char *job, const char *stage,
		const char *provider, int shot, long units);
/* Captures the charges in the caller's transaction (one statement; nothing
 * when n is 0) and pauses the producing jobs among them whose owner's
 * credits ran out. 0 or -1 on a failed statement. */
int charge_kept(struct db *db, struct events *ev, const struct ledger_charge *c, size_t n) WARN_UNUSED;

#endif
