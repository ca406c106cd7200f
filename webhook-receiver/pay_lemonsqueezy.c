/*
 * Lemon Squeezy's payment webhooks (providers.md 8.2): X-Signature is the
 * hex HMAC-SHA256 of the raw body under the signing secret. The scheme has
 * no timestamp and no event id, so an event is known by its name, its
 * object's id and the object's updated_at (a subscription is updated many
 * times; each version is one event).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "json.h"
#include "pay.h"
#include "receiver.h"
#include "sign.h"
#include "str.h"
#include "banned.h"

int pay_lemonsqueezy_verify(const char *secret, const char *signature, const char *body, size_t len, char *why,
			    size_t whylen)
{
	char want[SIGN_HEX_LEN + 1];
	if (!signature || !*signature)
		return errbuf_set(why, whylen, "no X-Signature header");
	sign_hmac_hex(secret, strlen(secret), body, len, want);
	if (!sign_hex_equal(want, signature, strlen(signature)))
		return errbuf_set(why, whylen, "X-Signature does not match the body");
	return 0;
}

time_t pay_lemonsqueezy_time(const char *s)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
		return 0;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return timegm(&tm);
}

/* An id Lemon Squeezy sends as a number or a string, as text ("" when absent). */
static void id_at(const cJSON *o, const char *path, char *out, size_t n)
{
	const cJSON *it = json_at(o, path);
	if (cJSON_IsNumber(it))
		snprintf(out, n, "%.0f", it->valuedouble);
	else
		str_copy(out, cJSON_IsString(it) ? it->valuestring : "", n);
}

static void read_subscription(const char *name, const cJSON *a, const char *id, struct pay_event *ev)
{
	const char *status = pay__str(a, "status");
	str_copy(ev->subscription, id, sizeof(ev->subscription));
	id_at(a, "variant_id", ev->product, sizeof(ev->product));
	if (!strcmp(name, "subscription_expired") || !strcmp(status, "expired") || !strcmp(status, "unpaid")) {
		ev->action = PAY_PLAN_END;
	} else if (!strcmp(status, "cancelled")) {
		ev->action = PAY_PLAN;
		ev->ends_at = pay_lemonsqueezy_time(pay__str(a, "ends_at"));
	} else if (!strcmp(status, "active") || !strcmp(status, "on_trial") || !strcmp(status, "past_due")) {
		ev->action = PAY_PLAN;
		ev->renews_at = pay_lemonsqueezy_time(pay__str(a, "renews_at"));
	} else {
		snprintf(ev->why, sizeof(ev->why), "subscription status %.40s changes no plan", status);
	}
}

static void read_order(const char *name, const cJSON *a, const char *id, struct pay_event *ev)
{
	const cJSON *total = json_at(a, "total"), *refunded = json_at(a, "refunded_amount");
	str_copy(ev->reference, id, sizeof(ev->reference));
	id_at(a, "first_order_item.variant_id", ev->product, sizeof(ev->product));
	if (!strcmp(name, "order_refunded")) {
		ev->action = PAY_REFUND;
		/* without amounts the whole order was refunded */
		long num, den;
		bool amounts = json_whole(refunded, &num) == 0 && num > 0 && json_whole(total, &den) == 0 && den > 0;
		ev->refund_num = amounts ? num : 1;
		ev->refund_den = amounts ? den : 1;
	} else if (!strcmp(pay__str(a, "status"), "paid")) {
		ev->action = PAY_PACK;
	} else {
		snprintf(ev->why, sizeof(ev->why), "order status %.40s is not paid", pay__str(a, "status"));
	}
}

int pay_lemonsqueezy_read(const char *body, size_t len, struct pay_event *ev, char *why, size_t whylen)
{
	cJSON *root = json_parse(body, len);
	const char *name = json_at_str(root, "meta.event_name");
	const cJSON *a = json_at(root, "data.attributes");
	char id[64];
	*ev = (struct pay_event){ .provider = "lemonsqueezy", .action = PAY_IGNORE };
	id_at(root, "data.id", id, sizeof(id));
	if (!name || !*id || !cJSON_IsObject(a) || strlen(name) >= sizeof(ev->type)) {
		cJSON_Delete(root);
		return errbuf_set(why, whylen,
				  "not a Lemon Squeezy event: meta.event_name, data.id or attributes missing");
	}
	const char *updated = pay__str(a, "updated_at");
	snprintf(ev->id, sizeof(ev->id), "%s:%s:%.40s", name, id, updated);
	str_copy(ev->type, name, sizeof(ev->type));
	str_copy(ev->owner, pay__str(root, "meta.custom_data.reel_owner"), sizeof(ev->owner));
	ev->event_at = pay_lemonsqueezy_time(*updated ? updated : pay__str(a, "created_at"));
	snprintf(ev->why, sizeof(ev->why), "event type not used");
	if (!strncmp(name, "order_", 6) && strcmp(name, "order_created") && strcmp(name, "order_refunded")) {
		/* another order event: not used */
	} else if (!strncmp(name, "order_", 6)) {
		read_order(name, a, id, ev);
	} else if (!strcmp(name, "subscription_payment_success")) {
		ev->action = PAY_PERIOD;
		str_copy(ev->reference, id, sizeof(ev->reference));
		id_at(a, "subscription_id", ev->subscription, sizeof(ev->subscription));
	} else if (!strncmp(name, "subscription_", 13) && strncmp(name, "subscription_payment_", 21)) {
		read_subscription(name, a, id, ev);
	}
	cJSON_Delete(root);
	return 0;
}

void pay_lemonsqueezy_route(struct http_exchange *x, void *arg)
{
	struct receiver *rc = ((struct daemon *)arg)->app;
	struct http_request *rq = http_request_of(x);
	struct pay_event ev;
	char why[256];
	if (pay_apply_ready(x, arg, "LEMONSQUEEZY_WEBHOOK_SECRET", rc->v->lemonsqueezy_secret) < 0)
		return;
	if (pay_lemonsqueezy_verify(rc->v->lemonsqueezy_secret, http_header(rq, "x-signature"), rq->body, rq->body_len,
				    why, sizeof(why)) < 0)
		return pay_apply_refuse(x, arg, why, "X-Signature");
	if (pay_lemonsqueezy_read(rq->body, rq->body_len, &ev, why, sizeof(why)) < 0)
		return http_problem(x, 400, "bad-event", "The body is not a Lemon Squeezy event", why, "body");
	pay_apply(x, arg, &ev);
}
