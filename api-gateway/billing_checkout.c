/*
 * Checkout creation at the payment providers (providers.md 12). DESIGN: the
 * provider is called on the gateway's libcurl multi client (http_client), so
 * the loop never waits on it; a caller that hangs up only drops the answer.
 * What the webhook needs travels with the checkout: the owner as Stripe's
 * client_reference_id and metadata.reel_owner (also on the subscription or
 * payment intent) or Lemon Squeezy's checkout_data.custom.reel_owner, and the
 * price in metadata.reel_product, since a Checkout Session event carries no
 * line items.
 */
#include "billing_checkout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api_problem.h"
#include "billing.h"
#include "gateway.h"
#include "http_client.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "sign.h"
#include "str.h"
#include "banned.h"

#define CHECKOUT_TIMEOUT_MS 20000

/* One checkout being created; owned by the list until its answer. */
struct checkout {
	struct checkouts *all;
	struct checkout *prev, *next;
	struct http_exchange *x; /* NULL once the caller hung up */
	struct http_client_call *call;
	bool stripe;
};

struct checkouts {
	struct http_client *http;
	struct checkout *head;
};

/* What was asked for, checked. */
struct order {
	bool stripe;
	const char *name;    /* the pack or plan */
	const char *product; /* its price or variant id at the provider */
	bool plan;           /* a subscription rather than a one-time pack */
	const char *success, *cancel;
};

static void unlink_checkout(struct checkout *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->all->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

void billing_checkout_stop(struct gateway *g)
{
	struct checkouts *all = g->checkouts;
	if (!all)
		return;
	http_client_free(all->http); /* cancels the calls in flight without callbacks */
	while (all->head) {
		struct checkout *c = all->head;
		all->head = c->next;
		free(c);
	}
	free(all);
	g->checkouts = NULL;
}

static void on_abort(struct http_exchange *x, void *arg)
{
	struct checkout *c = arg;
	(void)x;
	c->x = NULL;
}

/* The provider's own words about a failure, for the 502's detail. */
static void vendor_error(const struct http_client_response *r, bool stripe, char *out, size_t n)
{
	cJSON *o = json_parse(r->body, r->body_len);
	const char *msg = json_at_str(o, stripe ? "error.message" : "errors.0.detail");
	if (r->outcome != HTTP_CLIENT_DONE)
		snprintf(out, n, "%s did not answer: %s", stripe ? "Stripe" : "Lemon Squeezy", r->error);
	else
		snprintf(out, n, "%s answered HTTP %d: %.200s", stripe ? "Stripe" : "Lemon Squeezy", r->status,
			 msg ? msg : "no error message");
	cJSON_Delete(o);
}

static void on_answer(const struct http_client_response *r, void *arg)
{
	struct checkout *c = arg;
	cJSON *o = r->outcome == HTTP_CLIENT_DONE && r->status / 100 == 2 ? json_parse(r->body, r->body_len) : NULL;
	const char *url = json_at_str(o, c->stripe ? "url" : "data.attributes.url");
	char detail[320];
	unlink_checkout(c);
	if (c->x && url && *url) {
		cJSON *out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "url", url);
		char *text = cJSON_PrintUnformatted(out);
		http_add_header(c->x, "Cache-Control", "no-store");
		http_reply(c->x, 200, "application/json", text, strlen(text));
		free(text);
		cJSON_Delete(out);
	} else if (c->x) {
		vendor_error(r, c->stripe, detail, sizeof(detail));
		log_warn("checkout failed: %s", detail);
		http_problem(c->x, 502, "payment-provider-failed", "The payment provider could not make the checkout",
			     detail, NULL);
	}
	cJSON_Delete(o);
	free(c);
}

/* "&name=value" with value percent-encoded, appended to *form. */
static void form_add(char **form, const char *name, const char *value)
{
	char *enc = sign_encode_key(value), *next = xasprintf("%s%s%s=%s", *form, **form ? "&" : "", name, enc);
	free(enc);
	free(*form);
	*form = next;
}

static char *stripe_form(const struct order *o, const char *owner)
{
	char *form = xstrdup("");
	const char *meta = o->plan ? "subscription_data[metadata]" : "payment_intent_data[metadata]";
	char key[64];
	form_add(&form, "mode", o->plan ? "subscription" : "payment");
	form_add(&form, "line_items[0][price]", o->product);
	form_add(&form, "line_items[0][quantity]", "1");
	form_add(&form, "success_url", o->success);
	if (o->cancel)
		form_add(&form, "cancel_url", o->cancel);
	form_add(&form, "client_reference_id", owner);
	form_add(&form, "metadata[reel_owner]", owner);
	form_add(&form, "metadata[reel_product]", o->product);
	form_add(&form, "metadata[reel_item]", o->name);
	snprintf(key, sizeof(key), "%s[reel_owner]", meta);
	form_add(&form, key, owner);
	snprintf(key, sizeof(key), "%s[reel_product]", meta);
	form_add(&form, key, o->product);
	return form;
}

static char *lemonsqueezy_body(const struct order *o, const char *owner, const char *store)
{
	cJSON *root = cJSON_CreateObject(), *data = cJSON_AddObjectToObject(root, "data");
	cJSON_AddStringToObject(data, "type", "checkouts");
	cJSON *attrs = cJSON_AddObjectToObject(data, "attributes");
	cJSON *custom = cJSON_AddObjectToObject(cJSON_AddObjectToObject(attrs, "checkout_data"), "custom");
	cJSON_AddStringToObject(custom, "reel_owner", owner);
	cJSON_AddStringToObject(custom, "reel_item", o->name);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(attrs, "product_options"), "redirect_url", o->success);
	cJSON *rel = cJSON_AddObjectToObject(data, "relationships");
	cJSON *s = cJSON_AddObjectToObject(cJSON_AddObjectToObject(rel, "store"), "data");
	cJSON_AddStringToObject(s, "type", "stores");
	cJSON_AddStringToObject(s, "id", store);
	cJSON *v = cJSON_AddObjectToObject(cJSON_AddObjectToObject(rel, "variant"), "data");
	cJSON_AddStringToObject(v, "type", "variants");
	cJSON_AddStringToObject(v, "id", o->product);
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

static struct checkouts *checkouts_of(struct gateway *g)
{
	if (!g->checkouts) {
		g->checkouts = xcalloc(1, sizeof(*g->checkouts));
		g->checkouts->http = http_client_new(g->d->loop);
	}
	return g->checkouts;
}

static void start(struct http_exchange *x, struct gateway *g, const struct order *o, const char *owner)
{
	const struct gateway_config *cfg = &g->cfg;
	char auth[512], *url, *body;
	const char *ctype;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		 o->stripe ? cfg->stripe_api_key : cfg->lemonsqueezy_api_key);
	if (o->stripe) {
		url = xasprintf("%s/v1/checkout/sessions", cfg->stripe_base_url);
		body = stripe_form(o, owner);
		ctype = "Content-Type: application/x-www-form-urlencoded";
	} else {
		url = xasprintf("%s/v1/checkouts", cfg->lemonsqueezy_base_url);
		body = lemonsqueezy_body(o, owner, cfg->lemonsqueezy_store_id);
		ctype = "Content-Type: application/vnd.api+json";
	}
	const char *headers[] = { auth, ctype, "Accept: application/vnd.api+json" };
	const struct http_client_request rq = { .method = "POST",
						.url = url,
						.headers = headers,
						.n_headers = o->stripe ? 2 : 3,
						.body = body,
						.body_len = strlen(body),
						.timeout_ms = CHECKOUT_TIMEOUT_MS,
						.max_response = 1 << 20,
						.vendor = o->stripe ? "stripe" : "lemonsqueezy" };
	struct checkouts *all = checkouts_of(g);
	struct checkout *c = xcalloc(1, sizeof(*c));
	c->all = all;
	c->x = x;
	c->stripe = o->stripe;
	c->call = http_client_start(all->http, &rq, on_answer, c);
	free(url);
	free(body);
	if (!c->call) {
		free(c);
		http_problem(x, 502, "payment-provider-failed", "The payment provider could not be called", NULL, NULL);
		return;
	}
	c->next = all->head;
	if (all->head)
		all->head->prev = c;
	all->head = c;
	http_on_abort(x, on_abort, c);
}

static bool web_url(const char *s)
{
	return s && (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) && strlen(s) < 2048;
}

/* Reads and checks the request into o (whose strings point into root). 0 or -1 with p. */
static int read_order(const cJSON *root, const struct billing *b, struct order *o, struct api_problem *p)
{
	static const char *const allowed[] = { "provider", "item", "success_url", "cancel_url" };
	const char *provider = json_str(root, "provider"), *item = json_str(root, "item");
	if (!cJSON_IsObject(root))
		return api_problem_set(p, 400, "invalid-json", "The body is not a JSON object", "",
				       "expected an object");
	if (api_problem_unknown_fields(root, "", allowed, ARRAY_SIZE(allowed), p) < 0)
		return -1;
	if (!provider || (strcmp(provider, "stripe") && strcmp(provider, "lemonsqueezy")))
		return api_problem_invalid(p, "provider", "provider must be \"stripe\" or \"lemonsqueezy\"");
	o->stripe = strcmp(provider, "stripe") == 0;
	const struct billing_pack *pack = item ? billing_pack(b, item) : NULL;
	const struct billing_plan *plan = item && !pack ? billing_plan(b, item) : NULL;
	if (!pack && !plan)
		return api_problem_set(p, 422, "invalid-field", "Invalid field", "item",
				       "item %.80s%s%s is no pack or plan of the billing file", item ? "\"" : "",
				       item ? item : "(missing)", item ? "\"" : "");
	o->name = item;
	o->plan = plan != NULL;
	o->product = pack ? (o->stripe ? pack->stripe_price : pack->lemonsqueezy_variant)
			  : (o->stripe ? plan->stripe_price : plan->lemonsqueezy_variant);
	if (!o->product)
		return api_problem_set(p, 422, "invalid-field", "Invalid field", "item",
				       "%.80s cannot be bought through %s: the billing file gives it no %s", item,
				       provider, o->stripe ? "stripe_price" : "lemonsqueezy_variant");
	o->success = json_str(root, "success_url");
	o->cancel = json_str(root, "cancel_url");
	if (!web_url(o->success))
		return api_problem_invalid(p, "success_url", "success_url must be an http(s) URL");
	if (cJSON_GetObjectItemCaseSensitive(root, "cancel_url") && !web_url(o->cancel))
		return api_problem_invalid(p, "cancel_url", "cancel_url must be an http(s) URL");
	return 0;
}

static bool configured(struct http_exchange *x, const struct gateway_config *cfg, bool stripe)
{
	const char *missing =
		stripe ? (!cfg->stripe_api_key || !*cfg->stripe_api_key ? "STRIPE_API_KEY" : NULL)
		       : (!cfg->lemonsqueezy_api_key || !*cfg->lemonsqueezy_api_key     ? "LEMONSQUEEZY_API_KEY"
			  : !cfg->lemonsqueezy_store_id || !*cfg->lemonsqueezy_store_id ? "LEMONSQUEEZY_STORE_ID"
											: NULL);
	if (!missing)
		return true;
	char detail[160];
	snprintf(detail, sizeof(detail), "%s is not set on this gateway", missing);
	http_problem(x, 503, "provider-not-configured", "This payment provider is not configured", detail, "provider");
	return false;
}

void billing_checkout_post(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	struct gateway *g = d->app;
	struct http_request *rq = http_request_of(x);
	char owner[GATEWAY_OWNER_MAX];
	struct api_problem p;
	struct order o = { 0 };
	if (identity_authenticate(x, g, owner, sizeof(owner)) < 0)
		return;
	if (!d->billing)
		return http_problem(x, 404, "billing-off", "Billing is off",
				    "nothing is sold while REEL_BILLING_FILE is unset", NULL);
	cJSON *root = json_parse(rq->body, rq->body_len);
	if (!root)
		api_problem_set(&p, 400, "invalid-json", "The body is not valid JSON", "", "expected a JSON object");
	if (!root || read_order(root, d->billing, &o, &p) < 0)
		api_problem_send(x, &p);
	else if (configured(x, &g->cfg, o.stripe))
		start(x, g, &o, owner);
	cJSON_Delete(root);
}
