/*
 * Stripe's payment webhooks (providers.md 8.1): Stripe-Signature
 * "t=<unix>,v1=<hex>[,v1=...]" is the hex HMAC-SHA256 of "t.<raw body>"
 * under the whole whsec_ secret; any v1 may match (secret rotation) and t
 * must be at most the tolerance old. The event is then read into a
 * pay_event: which owner, which price, what it does to credits and plan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "json.h"
#include "log.h"
#include "pay.h"
#include "receiver.h"
#include "sign.h"
#include "str.h"
#include "banned.h"

/* Unix seconds of "t=": digits only. */
static int parse_stamp(const char *s, size_t n, long long *out)
{
	long long v = 0;
	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Whether any "v1=" entry of header is want. */
static bool any_v1(const char *header, const char *want)
{
	bool match = false;
	for (const char *p = header; *p;) {
		size_t n = strcspn(p, ",");
		if (n > 3 && strncmp(p, "v1=", 3) == 0)
			match |= sign_hex_equal(want, p + 3, n - 3); /* no early exit: every entry costs the same */
		p += n + (p[n] == ',');
	}
	return match;
}

int pay_stripe_verify(const char *secret, const char *header, const char *body, size_t len, time_t now,
		      long tolerance_s, char *why, size_t whylen)
{
	long long t = -1;
	if (!header || !*header)
		return errbuf_set(why, whylen, "no Stripe-Signature header");
	for (const char *p = header; *p;) {
		size_t n = strcspn(p, ",");
		if (n > 2 && strncmp(p, "t=", 2) == 0 && parse_stamp(p + 2, n - 2, &t) < 0)
			return errbuf_set(why, whylen, "malformed Stripe-Signature: t is not unix seconds");
		p += n + (p[n] == ',');
	}
	if (t < 0)
		return errbuf_set(why, whylen, "malformed Stripe-Signature: no t=");
	if (!strstr(header, "v1="))
		return errbuf_set(why, whylen, "Stripe-Signature has no v1 signature");
	char stamp[24], want[SIGN_HEX_LEN + 1];
	snprintf(stamp, sizeof(stamp), "%lld.", t);
	size_t sl = strlen(stamp);
	char *msg = xmalloc(sl + len + 1);
	memcpy(msg, stamp, sl);
	memcpy(msg + sl, body, len);
	sign_hmac_hex(secret, strlen(secret), msg, sl + len, want);
	free(msg);
	if (!any_v1(header, want))
		return errbuf_set(why, whylen, "no v1 signature of Stripe-Signature matches");
	if (t < (long long)now - tolerance_s)
		return errbuf_set(why, whylen, "Stripe-Signature is stale: signed %lld s ago", (long long)now - t);
	return 0;
}

/* The first of several paths holding a string, or "". */
static const char *first_str(const cJSON *o, const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = json_at_str(o, paths[i]);
		if (s && *s)
			return s;
	}
	return "";
}

static time_t first_time(const cJSON *o, const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		long t;
		if (json_whole(json_at(o, paths[i]), &t) == 0 && t > 0)
			return (time_t)t;
	}
	return 0;
}

static void read_session(const cJSON *o, struct pay_event *ev)
{
	static const char *const owner[] = { "client_reference_id", "metadata.reel_owner" };
	static const char *const product[] = { "metadata.reel_product", "line_items.data.0.price.id" };
	const char *mode = json_at_str(o, "mode"), *paid = json_at_str(o, "payment_status");
	str_copy(ev->owner, first_str(o, owner, ARRAY_SIZE(owner)), sizeof(ev->owner));
	str_copy(ev->product, first_str(o, product, ARRAY_SIZE(product)), sizeof(ev->product));
	if (!paid || strcmp(paid, "paid") != 0) {
		snprintf(ev->why, sizeof(ev->why), "payment_status is %s, not paid", paid ? paid : "absent");
	} else if (mode && strcmp(mode, "payment") == 0) {
		ev->action = PAY_PACK;
		str_copy(ev->reference, pay__str(o, "payment_intent"), sizeof(ev->reference));
	} else if (mode && strcmp(mode, "subscription") == 0) {
		ev->action = PAY_PLAN;
		str_copy(ev->subscription, pay__str(o, "subscription"), sizeof(ev->subscription));
	} else {
		snprintf(ev->why, sizeof(ev->why), "mode %s buys nothing", mode ? mode : "absent");
	}
}

static void read_invoice(const cJSON *o, struct pay_event *ev)
{
	static const char *const owner[] = { "parent.subscription_details.metadata.reel_owner",
					     "subscription_details.metadata.reel_owner", "metadata.reel_owner" };
	static const char *const sub[] = { "parent.subscription_details.subscription", "subscription" };
	static const char *const product[] = { "lines.data.0.pricing.price_details.price", "lines.data.0.price.id",
					       "lines.data.0.plan.id" };
	static const char *const end[] = { "lines.data.0.period.end", "period_end" };
	str_copy(ev->owner, first_str(o, owner, ARRAY_SIZE(owner)), sizeof(ev->owner));
	str_copy(ev->subscription, first_str(o, sub, ARRAY_SIZE(sub)), sizeof(ev->subscription));
	str_copy(ev->product, first_str(o, product, ARRAY_SIZE(product)), sizeof(ev->product));
	ev->renews_at = first_time(o, end, ARRAY_SIZE(end));
	ev->action = PAY_PERIOD;
}

static void read_subscription(const cJSON *o, struct pay_event *ev, bool deleted)
{
	static const char *const end[] = { "items.data.0.current_period_end", "current_period_end", "cancel_at" };
	const char *status = json_at_str(o, "status");
	str_copy(ev->owner, pay__str(o, "metadata.reel_owner"), sizeof(ev->owner));
	str_copy(ev->subscription, pay__str(o, "id"), sizeof(ev->subscription));
	str_copy(ev->product, pay__str(o, "items.data.0.price.id"), sizeof(ev->product));
	time_t period_end = first_time(o, end, ARRAY_SIZE(end));
	if (!status)
		status = "";
	if (deleted || !strcmp(status, "canceled") || !strcmp(status, "unpaid") ||
	    !strcmp(status, "incomplete_expired")) {
		ev->action = PAY_PLAN_END;
	} else if (!strcmp(status, "active") || !strcmp(status, "trialing") || !strcmp(status, "past_due")) {
		ev->action = PAY_PLAN;
		if (cJSON_IsTrue(json_at(o, "cancel_at_period_end")) || cJSON_IsNumber(json_at(o, "cancel_at")))
			ev->ends_at = period_end;
		else
			ev->renews_at = period_end;
	} else {
		snprintf(ev->why, sizeof(ev->why), "subscription status %.40s changes no plan", status);
	}
}

static void read_refund(const cJSON *o, struct pay_event *ev)
{
	const cJSON *amount = json_at(o, "amount"), *refunded = json_at(o, "amount_refunded");
	str_copy(ev->owner, pay__str(o, "metadata.reel_owner"), sizeof(ev->owner));
	str_copy(ev->reference, pay__str(o, "payment_intent"), sizeof(ev->reference));
	if (json_whole(refunded, &ev->refund_num) < 0)
		ev->refund_num = 0;
	if (json_whole(amount, &ev->refund_den) < 0)
		ev->refund_den = 0;
	if (ev->refund_den <= 0 || ev->refund_num <= 0 || !*ev->reference)
		snprintf(ev->why, sizeof(ev->why), "a refund without amount, amount_refunded or payment_intent");
	else
		ev->action = PAY_REFUND;
}

int pay_stripe_read(const char *body, size_t len, struct pay_event *ev, char *why, size_t whylen)
{
	cJSON *root = json_parse(body, len);
	const char *id = json_at_str(root, "id"), *type = json_at_str(root, "type");
	const cJSON *o = json_at(root, "data.object"), *created = json_at(root, "created");
	*ev = (struct pay_event){ .provider = "stripe", .action = PAY_IGNORE };
	if (!id || !*id || !type || !cJSON_IsObject(o) || strlen(id) >= sizeof(ev->id)) {
		cJSON_Delete(root);
		return errbuf_set(why, whylen, "not a Stripe event: id, type or data.object missing");
	}
	str_copy(ev->id, id, sizeof(ev->id));
	str_copy(ev->type, type, sizeof(ev->type));
	long at;
	ev->event_at = json_whole(created, &at) == 0 && at > 0 ? (time_t)at : 0;
	snprintf(ev->why, sizeof(ev->why), "event type not used");
	if (!strcmp(type, "checkout.session.completed"))
		read_session(o, ev);
	else if (!strcmp(type, "invoice.paid"))
		read_invoice(o, ev);
	else if (!strcmp(type, "customer.subscription.created") || !strcmp(type, "customer.subscription.updated"))
		read_subscription(o, ev, false);
	else if (!strcmp(type, "customer.subscription.deleted"))
		read_subscription(o, ev, true);
	else if (!strcmp(type, "charge.refunded"))
		read_refund(o, ev);
	cJSON_Delete(root);
	return 0;
}

void pay_stripe_route(struct http_exchange *x, void *arg)
{
	struct receiver *rc = ((struct daemon *)arg)->app;
	struct http_request *rq = http_request_of(x);
	struct pay_event ev;
	char why[256];
	if (pay_apply_ready(x, arg, "STRIPE_WEBHOOK_SECRET", rc->v->stripe_secret) < 0)
		return;
	if (pay_stripe_verify(rc->v->stripe_secret, http_header(rq, "stripe-signature"), rq->body, rq->body_len,
			      time(NULL), rc->v->tolerance_s, why, sizeof(why)) < 0)
		return pay_apply_refuse(x, arg, why, "Stripe-Signature");
	if (pay_stripe_read(rq->body, rq->body_len, &ev, why, sizeof(why)) < 0)
		return http_problem(x, 400, "bad-event", "The body is not a Stripe event", why, "body");
	pay_apply(x, arg, &ev);
}
