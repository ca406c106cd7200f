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

#include <libpq-fe.h>

#include "ledger.h"
#include "util.h"

struct billing;
struct db;
struct events;

/* The error code and message of a job paused for want of credits. */
#define CHARGE_CODE "insufficient-credits"
extern const char charge_message[];

/* A last column for a claim statement: what job (an SQL expression) may
 * still spend, its held reservation and the owner's available credits;
 * NULL for a job without a reservation. Appended only when billing is on. */
#define CHARGE_LEFT_COLUMN(job) \
	", (SELECT c.held + greatest(a.available, 0) FROM job_costs c JOIN credit_accounts a ON a.owner = " \
	"c.owner WHERE c.job_id = " job ")"

/* True when billing is on and row's CHARGE_LEFT_COLUMN (r's last column)
 * cannot pay price: the vendor is not called, the job pauses instead. */
bool charge_short(const struct billing *b, PGresult *r, int row, long price);
/* c = units x the price of stage's result made by provider, for job (shot -1: job-level). */
void charge_set(struct ledger_charge *c, const struct billing *b, const char *job, const char *stage,
		const char *provider, int shot, long units);
/* Captures the charges in the caller's transaction (one statement; nothing
 * when n is 0) and pauses the producing jobs among them whose owner's
 * credits ran out. 0 or -1 on a failed statement. */
int charge_kept(struct db *db, struct events *ev, const struct ledger_charge *c, size_t n) WARN_UNUSED;

#endif
