/*
 * libFuzzer target: the payment webhooks' verifiers and readers
 * (webhook-receiver/pay_stripe.c, pay_lemonsqueezy.c). Input: a
 * Stripe-Signature (or X-Signature) header, a newline, then the body, which
 * both providers' readers take whatever the signature said.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pay.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1), why[256];
	memcpy(text, data, size);
	text[size] = '\0';
	char *body = memchr(text, '\n', size);
	size_t len = 0;
	struct pay_event ev;
	if (body) {
		*body++ = '\0';
		len = size - (size_t)(body - text);
	} else {
		body = text + size;
	}
	(void)pay_stripe_verify("whsec_test_simulator", text, body, len, 1735689600, 300, why, sizeof(why));
	(void)pay_lemonsqueezy_verify("ls_secret_123", text, body, len, why, sizeof(why));
	if (pay_stripe_read(body, len, &ev, why, sizeof(why)) == 0)
		assert(ev.id[0] && ev.action <= PAY_PLAN_END && memchr(ev.owner, '\0', sizeof(ev.owner)));
	if (pay_lemonsqueezy_read(body, len, &ev, why, sizeof(why)) == 0)
		assert(ev.id[0] && ev.action <= PAY_PLAN_END && memchr(ev.product, '\0', sizeof(ev.product)));
	free(text);
	return 0;
}
