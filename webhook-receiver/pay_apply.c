/*
 * Applies a verified payment event exactly once. One transaction claims the
 * event's key in payment_events (a second delivery, also one arriving at
 * another receiver at the same moment, finds the key taken and changes
 * nothing), writes the ledger rows and the plan, and records the outcome:
 * applied, ignored, stale (an older subscription event than one applied) or
 * unknown-owner. Payment events are rare, so each is its own transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing.h"
#include "db.h"
#include "errbuf.h"
#include "json.h"
#include "ledger.h"
#include "log.h"
#include "metrics.h"
#include "pay.h"
#include "receiver.h"
#include "str.h"
#include "banned.h"

/* What an event came to. */
struct outcome {
	const char *what; /* applied, ignored, stale, unknown-owner */
	char detail[256];
	long credits;
	bool retry; /* not applicable yet: answer 503 so the provider delivers again */
};

const char *pay__str(const struct cJSON *o, const char *path)
{
	const char *s = json_at_str(o, path);
	return s ? s : "";
}

int pay_apply_ready(struct http_exchange *x, void *arg, const char *env, const char *secret)
{
	struct daemon *d = arg;
	if (!d->billing) {
		http_problem(x, 404, "billing-off", "Billing is off",
			     "payments are taken only when REEL_BILLING_FILE is set", NULL);
		return -1;
	}
	if (!secret || !*secret) {
		char detail[128];
		snprintf(detail, sizeof(detail), "%s is not set: this receiver cannot verify the provider's events",
			 env);
		http_problem(x, 503, "not-configured", "This payment provider is not configured", detail, NULL);
		return -1;
	}
	return 0;
}

void pay_apply_refuse(struct http_exchange *x, void *arg, const char *why, const char *field)
{
	struct receiver *rc = ((struct daemon *)arg)->app;
	metrics_add(rc->m_refused, 1);
	log_warn("payment event refused: %s", why);
	http_problem(x, 400, "bad-signature", "The event's signature is not valid", why, field);
}

static void time_text(time_t t, char *buf, size_t n)
{
	snprintf(buf, n, "%lld", (long long)t);
}

/* The account holding ev's subscription: its owner into ev->owner when the
 * event named nobody, its plan into plan ("" when unknown). 0 or -1. */
static int find_owner(struct db *db, struct pay_event *ev, char *plan, size_t planlen)
{
	static const char sql[] = "SELECT r_owner, r_plan FROM reel_subscription_account($1, $2)";
	const char *params[] = { ev->provider, ev->subscription };
	plan[0] = '\0';
	if (!*ev->subscription)
		return 0;
	PGresult *r = db_exec(db, sql, 2, params);
	if (!r)
		return -1;
	if (PQntuples(r) == 1) {
		if (!*ev->owner)
			str_copy(ev->owner, PQgetvalue(r, 0, 0), sizeof(ev->owner));
		str_copy(plan, PQgetvalue(r, 0, 1), planlen);
	}
	PQclear(r);
	return 0;
}

/* Sets the plan (NULL: the subscription ended) into o: applied, stale (a
 * newer subscription event was applied) or ignored (the owner is on another
 * subscription by now). 0 or -1. */
static int plan_set(struct db *db, const struct pay_event *ev, const char *plan, struct outcome *o)
{
	static const char sql[] = "SELECT reel_plan_set($1, $2, $3, $4, to_timestamp($5::bigint), "
				  "to_timestamp($6::bigint), to_timestamp($7::bigint))";
	char renews[24], ends[24], at[24];
	time_text(ev->renews_at, renews, sizeof(renews));
	time_text(ev->ends_at, ends, sizeof(ends));
	time_text(ev->event_at ? ev->event_at : time(NULL), at, sizeof(at));
	const char *params[] = { ev->owner,
				 plan,
				 ev->provider,
				 *ev->subscription ? ev->subscription : NULL,
				 ev->renews_at && plan ? renews : NULL,
				 ev->ends_at && plan ? ends : NULL,
				 at };
	PGresult *r = db_exec(db, sql, 7, params);
	if (!r)
		return -1;
	const char *said = PQgetvalue(r, 0, 0);
	o->what = !strcmp(said, "applied") ? "applied" : !strcmp(said, "stale") ? "stale" : "ignored";
	snprintf(o->detail, sizeof(o->detail), "plan %s%s", plan ? plan : "free",
		 !strcmp(said, "stale")   ? ": older than the last subscription event applied"
		 : !strcmp(said, "other") ? ": not the owner's current subscription"
					  : "");
	PQclear(r);
	return 0;
}

static int apply_plan(struct db *db, const struct billing *b, const struct pay_event *ev, struct outcome *o)
{
	const struct billing_plan *plan = NULL;
	if (ev->action != PAY_PLAN_END && !(plan = billing_plan_by_product(b, ev->provider, ev->product))) {
		o->what = "ignored";
		snprintf(o->detail, sizeof(o->detail), "product %.100s buys no plan", ev->product);
		return 0;
	}
	return plan_set(db, ev, plan ? plan->name : NULL, o);
}

static int apply_pack(struct db *db, const struct billing *b, const struct pay_event *ev, const char *payment,
		      struct outcome *o)
{
	const struct billing_pack *pack = billing_pack_by_product(b, ev->provider, ev->product);
	if (!pack) {
		o->what = "ignored";
		snprintf(o->detail, sizeof(o->detail), "product %.100s buys no pack%s", ev->product,
			 billing_plan_by_product(b, ev->provider, ev->product) ? " (a plan: its subscription sets it)"
									       : "");
		return 0;
	}
	o->credits = pack->credits;
	snprintf(o->detail, sizeof(o->detail), "pack %s", pack->name);
	return ledger_credit(db, ev->owner, "purchase", pack->credits, payment, NULL);
}

/* A paid period: the plan's monthly credits; the plan's renewal too when the event names its price. */
static int apply_period(struct db *db, const struct billing *b, const struct pay_event *ev, const char *plan_name,
			const char *payment, struct outcome *o)
{
	const struct billing_plan *plan = billing_plan_by_product(b, ev->provider, ev->product);
	struct outcome renewal = { 0 }; /* credits are owed even when a newer event set the plan */
	if (plan && plan_set(db, ev, plan->name, &renewal) < 0)
		return -1;
	if (!plan && *plan_name && strcmp(plan_name, "free") != 0)
		plan = billing_plan(b, plan_name);
	if (!plan) {
		o->retry = true; /* the subscription's own event has not come yet */
		snprintf(o->detail, sizeof(o->detail), "the plan of subscription %.100s is not known yet",
			 ev->subscription);
		return 0;
	}
	o->credits = plan->monthly_credits;
	snprintf(o->detail, sizeof(o->detail), "plan %s period", plan->name);
	return ledger_credit(db, ev->owner, "subscription", plan->monthly_credits, payment, NULL);
}

static int apply_refund(struct db *db, struct pay_event *ev, struct outcome *o)
{
	static const char sql[] =
		"SELECT r_owner, r_credits FROM reel_payment_refund($1, $2, $3, $4::bigint, $5::bigint)";
	char num[24], den[24];
	snprintf(num, sizeof(num), "%ld", ev->refund_num);
	snprintf(den, sizeof(den), "%ld", ev->refund_den);
	const char *params[] = { ev->provider, ev->reference, ev->id, num, den };
	PGresult *r = db_exec(db, sql, 5, params);
	if (!r)
		return -1;
	if (PQgetisnull(r, 0, 0)) {
		o->what = "unknown-owner";
		snprintf(o->detail, sizeof(o->detail), "no applied purchase with payment %.100s", ev->reference);
	} else {
		str_copy(ev->owner, PQgetvalue(r, 0, 0), sizeof(ev->owner));
		o->credits = -atol(PQgetvalue(r, 0, 1));
		snprintf(o->detail, sizeof(o->detail), "refund of %.100s", ev->reference);
	}
	PQclear(r);
	return 0;
}

static int apply(struct daemon *d, struct pay_event *ev, struct outcome *o)
{
	char payment[PAY_ID_MAX + 16], plan[64];
	o->what = "applied";
	if (ev->action == PAY_IGNORE) {
		o->what = "ignored";
		str_copy(o->detail, ev->why, sizeof(o->detail));
		return 0;
	}
	if (ev->action == PAY_REFUND)
		return apply_refund(d->db, ev, o);
	if (find_owner(d->db, ev, plan, sizeof(plan)) < 0)
		return -1;
	if (!*ev->owner) {
		o->what = "unknown-owner";
		snprintf(o->detail, sizeof(o->detail), "the event names no owner (client_reference_id, reel_owner)");
		return 0;
	}
	snprintf(payment, sizeof(payment), "%s:%s", ev->provider, ev->id);
	switch (ev->action) {
	case PAY_PACK: return apply_pack(d->db, d->billing, ev, payment, o);
	case PAY_PERIOD: return apply_period(d->db, d->billing, ev, plan, payment, o);
	default: return apply_plan(d->db, d->billing, ev, o);
	}
}

/* Claims ev: 1 on its first delivery, 0 for a replay, -1 on a failed statement. */
static int claim(struct db *db, const struct pay_event *ev)
{
	static const char sql[] = "SELECT reel_payment_claim($1, $2, $3)";
	const char *params[] = { ev->provider, ev->id, ev->type };
	PGresult *r = db_exec(db, sql, 3, params);
	if (!r)
		return -1;
	int first = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return first;
}

static int record(struct db *db, const struct pay_event *ev, const struct outcome *o)
{
	static const char sql[] = "SELECT reel_payment_outcome($1, $2, $3, $4, $5, $6, $7::bigint)";
	char credits[24];
	snprintf(credits, sizeof(credits), "%ld", o->credits);
	const char *params[] = { ev->provider, ev->id,    *ev->owner ? ev->owner : NULL,
				 o->what,      o->detail, *ev->reference ? ev->reference : NULL,
				 credits };
	return db_run(db, sql, 7, params);
}

static void failed(struct daemon *d, struct http_exchange *x, const char *detail)
{
	daemon_rollback(d);
	if (db_last_error_is_connection(d->db))
		daemon_db_lost(d);
	http_problem(x, 503, "try-again", "The payment event could not be recorded", detail, NULL);
}

void pay_apply(struct http_exchange *x, void *arg, struct pay_event *ev)
{
	struct daemon *d = arg;
	struct receiver *rc = d->app;
	struct outcome o = { 0 };
	metrics_add(rc->m_callbacks, 1);
	if (!db_ok(d->db))
		return http_problem(x, 503, "try-again", "The database is unavailable", "deliver again later", NULL);
	if (db_begin(d->db) < 0)
		return failed(d, x, db_last_error(d->db));
	int first = claim(d->db, ev);
	if (first <= 0) {
		if (first == 0) {
			daemon_rollback(d);
			metrics_add(rc->m_replayed, 1);
			return http_reply(x, 200, "application/json", "{\"ok\":true,\"replayed\":true}", 27);
		}
		return failed(d, x, db_last_error(d->db));
	}
	if (apply(d, ev, &o) < 0 || record(d->db, ev, &o) < 0)
		return failed(d, x, db_last_error(d->db));
	if (o.retry)
		return failed(d, x, o.detail);
	if (daemon_commit(d) < 0) /* rolled back already */
		return http_problem(x, 503, "try-again", "The payment event could not be recorded", "the commit failed",
				    NULL);
	log_info("payment %s:%s (%s) %s for %s: %s, %ld credits", ev->provider, ev->id, ev->type, o.what,
		 *ev->owner ? ev->owner : "nobody", o.detail, o.credits);
	char *body = xasprintf("{\"ok\":true,\"outcome\":\"%s\"}", o.what);
	http_reply(x, 200, "application/json", body, strlen(body));
	free(body);
}
