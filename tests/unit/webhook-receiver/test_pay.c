/*
 * Unit tests for the payment webhooks: Stripe-Signature and Lemon Squeezy's
 * X-Signature against the vectors of providers.md 8.1 and 8.2 (rotation,
 * staleness, tampering, malformed headers), and the reading of each
 * provider's events into a pay_event.
 */
#include <check.h>
#include <string.h>

#include "pay.h"
#include "../unit_suite.h"
#include "banned.h"

#define STRIPE_SECRET "whsec_test_simulator"
#define STRIPE_BODY "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"invoice.paid\"}"
#define STRIPE_SIG "95a7d94a256009b66d5e8a55b56b52c84bd8f11640789a46b733d1317c5c7949"
#define STRIPE_T 1735689600
#define WRONG_SIG "05a7d94a256009b66d5e8a55b56b52c84bd8f11640789a46b733d1317c5c7949"
#define NOT_HEX "zza7d94a256009b66d5e8a55b56b52c84bd8f11640789a46b733d1317c5c7949"
#define LS_SECRET "ls_secret_123"
#define LS_BODY \
	"{\"meta\":{\"event_name\":\"order_created\",\"custom_data\":{\"user_id\":\"123\"}},\"data\":{\"type\":" \
	"\"orders\",\"id\":\"1\",\"attributes\":{\"status\":\"paid\",\"total\":1199,\"currency\":\"USD\"}}}"
#define LS_SIG "89d8cde32add7816f7a4d40115a37480508c7e449906466d52e3d1f940b7b4cc"

static int stripe(const char *header, const char *body, time_t now, char *why)
{
	return pay_stripe_verify(STRIPE_SECRET, header, body, strlen(body), now, 300, why, 160);
}

START_TEST(test_stripe_vector)
{
	char why[160];
	ck_assert_int_eq(stripe("t=1735689600,v1=" STRIPE_SIG, STRIPE_BODY, STRIPE_T + 10, why), 0);
	/* several v1 (a secret being rolled), v0 and unknown schemes ignored, hex in upper case */
	ck_assert_int_eq(
		stripe("t=1735689600,v1=" WRONG_SIG ",v0=abc,v1=" STRIPE_SIG ",x=1", STRIPE_BODY, STRIPE_T, why), 0);
	ck_assert_int_eq(stripe("t=1735689600,v1=95A7D94A256009B66D5E8A55B56B52C84BD8F11640789A46B733D1317C5C7949",
				STRIPE_BODY, STRIPE_T, why),
			 0);
	/* the library does not refuse a time in the future */
	ck_assert_int_eq(stripe("t=1735689600,v1=" STRIPE_SIG, STRIPE_BODY, STRIPE_T - 3600, why), 0);
}
END_TEST

START_TEST(test_stripe_refusals)
{
	char why[160];
	ck_assert_int_eq(stripe("t=1735689600,v1=" STRIPE_SIG, STRIPE_BODY, STRIPE_T + 301, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "stale"));
	ck_assert_int_eq(stripe("t=1735689600,v1=" STRIPE_SIG, STRIPE_BODY, STRIPE_T + 300, why), 0);
	/* the body, the time or the secret changed */
	ck_assert_int_eq(stripe("t=1735689600,v1=" STRIPE_SIG, "{\"id\":\"evt_2\"}", STRIPE_T, why), -1);
	ck_assert_int_eq(stripe("t=1735689601,v1=" STRIPE_SIG, STRIPE_BODY, STRIPE_T, why), -1);
	ck_assert_int_eq(pay_stripe_verify("whsec_other", "t=1735689600,v1=" STRIPE_SIG, STRIPE_BODY,
					   strlen(STRIPE_BODY), STRIPE_T, 300, why, sizeof(why)),
			 -1);
	/* only v0, no t, a bad t, a short or non-hex v1, no header */
	ck_assert_int_eq(stripe("t=1735689600,v1=" WRONG_SIG, STRIPE_BODY, STRIPE_T, why), -1);
	ck_assert_int_eq(stripe("t=1735689600,v0=" STRIPE_SIG, STRIPE_BODY, STRIPE_T, why), -1);
	ck_assert_int_eq(stripe("v1=" STRIPE_SIG, STRIPE_BODY, STRIPE_T, why), -1);
	ck_assert_int_eq(stripe("t=17356x9600,v1=" STRIPE_SIG, STRIPE_BODY, STRIPE_T, why), -1);
	ck_assert_int_eq(stripe("t=1735689600,v1=95a7d94a", STRIPE_BODY, STRIPE_T, why), -1);
	ck_assert_int_eq(stripe("t=1735689600,v1=" NOT_HEX, STRIPE_BODY, STRIPE_T, why), -1);
	ck_assert_int_eq(stripe(NULL, STRIPE_BODY, STRIPE_T, why), -1);
	ck_assert_int_eq(stripe("", STRIPE_BODY, STRIPE_T, why), -1);
}
END_TEST

START_TEST(test_lemonsqueezy_vector)
{
	char why[160];
	ck_assert_int_eq(pay_lemonsqueezy_verify(LS_SECRET, LS_SIG, LS_BODY, strlen(LS_BODY), why, sizeof(why)), 0);
	ck_assert_int_eq(pay_lemonsqueezy_verify(LS_SECRET, LS_SIG, LS_BODY, strlen(LS_BODY) - 1, why, sizeof(why)),
			 -1);
	ck_assert_int_eq(pay_lemonsqueezy_verify("ls_secret_124", LS_SIG, LS_BODY, strlen(LS_BODY), why, sizeof(why)),
			 -1);
	ck_assert_int_eq(pay_lemonsqueezy_verify(LS_SECRET, "89d8", LS_BODY, strlen(LS_BODY), why, sizeof(why)), -1);
	ck_assert_int_eq(pay_lemonsqueezy_verify(LS_SECRET, NULL, LS_BODY, strlen(LS_BODY), why, sizeof(why)), -1);
}
END_TEST

static struct pay_event stripe_read(const char *body)
{
	struct pay_event ev;
	char why[160];
	ck_assert_int_eq(pay_stripe_read(body, strlen(body), &ev, why, sizeof(why)), 0);
	return ev;
}

START_TEST(test_stripe_events)
{
	struct pay_event ev = stripe_read(
		"{\"id\":\"evt_a\",\"type\":\"checkout.session.completed\",\"created\":100,\"data\":{\"object\":{"
		"\"mode\":\"payment\",\"payment_status\":\"paid\",\"client_reference_id\":\"ann\",\"payment_intent\":"
		"\"pi_1\",\"metadata\":{\"reel_product\":\"price_s\"}}}}");
	ck_assert_int_eq(ev.action, PAY_PACK);
	ck_assert_str_eq(ev.owner, "ann");
	ck_assert_str_eq(ev.product, "price_s");
	ck_assert_str_eq(ev.reference, "pi_1");
	ck_assert_int_eq(ev.event_at, 100);
	ev = stripe_read("{\"id\":\"evt_b\",\"type\":\"checkout.session.completed\",\"data\":{\"object\":{"
			 "\"mode\":\"payment\",\"payment_status\":\"unpaid\"}}}");
	ck_assert_int_eq(ev.action, PAY_IGNORE);
	ev = stripe_read(
		"{\"id\":\"evt_c\",\"type\":\"customer.subscription.updated\",\"created\":5,\"data\":{"
		"\"object\":{\"id\":\"sub_1\",\"status\":\"active\",\"cancel_at_period_end\":true,\"metadata\":"
		"{\"reel_owner\":\"bo\"},\"items\":{\"data\":[{\"price\":{\"id\":\"price_pro\"},"
		"\"current_period_end\":999}]}}}}");
	ck_assert_int_eq(ev.action, PAY_PLAN);
	ck_assert_int_eq(ev.ends_at, 999);
	ck_assert_int_eq(ev.renews_at, 0);
	ck_assert_str_eq(ev.subscription, "sub_1");
	ev = stripe_read("{\"id\":\"evt_d\",\"type\":\"invoice.paid\",\"data\":{\"object\":{\"parent\":{"
			 "\"subscription_details\":{\"subscription\":\"sub_1\",\"metadata\":{\"reel_owner\":\"bo\"}}},"
			 "\"lines\":{\"data\":[{\"period\":{\"end\":77},\"pricing\":{\"price_details\":{\"price\":"
			 "\"price_pro\"}}}]}}}}");
	ck_assert_int_eq(ev.action, PAY_PERIOD);
	ck_assert_str_eq(ev.owner, "bo");
	ck_assert_str_eq(ev.product, "price_pro");
	ck_assert_int_eq(ev.renews_at, 77);
	ev = stripe_read("{\"id\":\"evt_e\",\"type\":\"charge.refunded\",\"data\":{\"object\":{\"amount\":1000,"
			 "\"amount_refunded\":500,\"payment_intent\":\"pi_1\"}}}");
	ck_assert_int_eq(ev.action, PAY_REFUND);
	ck_assert_int_eq(ev.refund_num * 2, ev.refund_den);
	ev = stripe_read("{\"id\":\"evt_f\",\"type\":\"customer.created\",\"data\":{\"object\":{}}}");
	ck_assert_int_eq(ev.action, PAY_IGNORE);
	struct pay_event bad;
	char why[160];
	ck_assert_int_eq(pay_stripe_read("{\"type\":\"x\"}", 12, &bad, why, sizeof(why)), -1);
	ck_assert_int_eq(pay_stripe_read("not json", 8, &bad, why, sizeof(why)), -1);
}
END_TEST

START_TEST(test_lemonsqueezy_events)
{
	static const char sub[] =
		"{\"meta\":{\"event_name\":\"subscription_cancelled\",\"custom_data\":{\"reel_owner\":\"cy\"}},\"data\":"
		"{\"type\":\"subscriptions\",\"id\":\"9\",\"attributes\":{\"status\":\"cancelled\",\"variant_id\":42,"
		"\"ends_at\":\"2026-01-02T03:04:05.000000Z\",\"updated_at\":\"2026-01-01T00:00:00.000000Z\"}}}";
	struct pay_event ev;
	char why[160];
	ck_assert_int_eq(pay_lemonsqueezy_read(sub, strlen(sub), &ev, why, sizeof(why)), 0);
	ck_assert_int_eq(ev.action, PAY_PLAN);
	ck_assert_str_eq(ev.owner, "cy");
	ck_assert_str_eq(ev.product, "42");
	ck_assert_str_eq(ev.subscription, "9");
	ck_assert_int_eq(ev.ends_at, 1767323045);
	ck_assert_int_eq(ev.event_at, 1767225600);
	ck_assert_str_eq(ev.id, "subscription_cancelled:9:2026-01-01T00:00:00.000000Z");
	ck_assert_int_eq(pay_lemonsqueezy_read(LS_BODY, strlen(LS_BODY), &ev, why, sizeof(why)), 0);
	ck_assert_int_eq(ev.action, PAY_PACK);
	ck_assert_str_eq(ev.owner, ""); /* custom_data names no reel_owner */
	ck_assert_str_eq(ev.reference, "1");
	ck_assert_int_eq(pay_lemonsqueezy_read("{\"meta\":{}}", 11, &ev, why, sizeof(why)), -1);
	ck_assert_int_eq(pay_lemonsqueezy_time("garbage"), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pay");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_stripe_vector);
	tcase_add_test(tc, test_stripe_refusals);
	tcase_add_test(tc, test_lemonsqueezy_vector);
	tcase_add_test(tc, test_stripe_events);
	tcase_add_test(tc, test_lemonsqueezy_events);
	suite_add_tcase(s, tc);
	return unit_run_suite(s);
}
