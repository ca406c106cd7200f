/*
 * REEL_BILLING_FILE, read once at start. Every member is checked and a bad
 * one is named with its path in the file (plans.pro.max_shots), so an
 * operator's typo stops the fleet instead of charging the wrong price.
 */
#include "billing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "file.h"
#include "json.h"
#include "banned.h"

#define BILLING_FILE_MAX (1u << 20)

struct billing_price {
	char *stage, *provider;
	long credits;
};

static const char *const stages[] = { "parse", "render", "i2v", "tts", "merge" };
static const char *const top_members[] = { "prices", "plans", "packs", "checkin_credits" };
static const char *const plan_members[] = { "monthly_credits",    "max_resolution",      "max_shots",
					    "max_jobs_in_flight", "retention_days",      "i2v",
					    "stripe_price",       "lemonsqueezy_variant" };
static const char *const pack_members[] = { "credits", "stripe_price", "lemonsqueezy_variant" };

static bool listed(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* -1 with err when obj has a member outside names (a misspelt field would be silently ignored). */
static int only_members(const cJSON *obj, const char *where, const char *const *names, size_t n, char *err,
			size_t errlen)
{
	for (const cJSON *m = obj->child; m; m = m->next)
		if (!listed(m->string, names, n))
			return errbuf_set(err, errlen, "%s%s%s: unknown member", where, *where ? "." : "", m->string);
	return 0;
}

/* A whole number member within [lo, hi] into *out, def when absent. */
static int member_int(const cJSON *obj, const char *where, const char *name, long lo, long hi, long def, long *out,
		      char *err, size_t errlen)
{
	if (!cJSON_GetObjectItemCaseSensitive(obj, name)) {
		*out = def;
		return 0;
	}
	if (json_int(obj, name, out) < 0 || *out < lo || *out > hi)
		return errbuf_set(err, errlen, "%s.%s: must be a whole number from %ld to %ld", where, name, lo, hi);
	return 0;
}

/* A payment product id: Stripe's are strings, Lemon Squeezy's variants numbers. */
static int member_id(const cJSON *obj, const char *where, const char *name, char **out, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!v)
		return 0;
	if (cJSON_IsString(v) && v->valuestring[0])
		*out = xstrdup(v->valuestring);
	else if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e15)
		*out = xasprintf("%.0f", v->valuedouble);
	else
		return errbuf_set(err, errlen, "%s.%s: must be a non-empty string or a positive number", where, name);
	return 0;
}

static int load_prices(struct billing *b, const cJSON *prices, char *err, size_t errlen)
{
	if (!cJSON_IsObject(prices))
		return errbuf_set(err, errlen, "prices: must be an object of stages");
	for (const cJSON *s = prices->child; s; s = s->next) {
		if (!listed(s->string, stages, ARRAY_SIZE(stages)))
			return errbuf_set(err, errlen, "prices.%s: unknown stage (parse, render, i2v, tts or merge)",
					  s->string);
		if (!cJSON_IsObject(s))
			return errbuf_set(err, errlen, "prices.%s: must be an object of providers", s->string);
		for (const cJSON *p = s->child; p; p = p->next) {
			if (!cJSON_IsNumber(p) || p->valuedouble < 0 || p->valuedouble > 1e9 ||
			    p->valuedouble != (double)(long)p->valuedouble)
				return errbuf_set(err, errlen, "prices.%s.%s: must be a whole number of credits from 0",
						  s->string, p->string);
			b->prices = xrealloc(b->prices, (b->n_prices + 1) * sizeof(*b->prices));
			b->prices[b->n_prices++] = (struct billing_price){ xstrdup(s->string), xstrdup(p->string),
									   (long)p->valuedouble };
		}
	}
	return 0;
}

static int load_resolution(struct billing_plan *pl, const cJSON *obj, const char *where, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "max_resolution");
	pl->max_height = 1080;
	if (!v)
		return 0;
	if (cJSON_IsString(v) && strcmp(v->valuestring, "720p") == 0)
		pl->max_height = 720;
	else if (!cJSON_IsString(v) || strcmp(v->valuestring, "1080p") != 0)
		return errbuf_set(err, errlen, "%s.max_resolution: must be 720p or 1080p", where);
	return 0;
}

static int load_plan(struct billing_plan *pl, const cJSON *obj, char *err, size_t errlen)
{
	char where[160];
	snprintf(where, sizeof(where), "plans.%.100s", obj->string);
	pl->name = xstrdup(obj->string);
	if (!cJSON_IsObject(obj))
		return errbuf_set(err, errlen, "%s: must be an object", where);
	const cJSON *i2v = cJSON_GetObjectItemCaseSensitive(obj, "i2v");
	if (i2v && !cJSON_IsBool(i2v))
		return errbuf_set(err, errlen, "%s.i2v: must be true or false", where);
	pl->i2v = !i2v || cJSON_IsTrue(i2v);
	if (only_members(obj, where, plan_members, ARRAY_SIZE(plan_members), err, errlen) < 0 ||
	    member_int(obj, where, "monthly_credits", 0, 1000000000, 0, &pl->monthly_credits, err, errlen) < 0 ||
	    load_resolution(pl, obj, where, err, errlen) < 0 ||
	    member_int(obj, where, "max_shots", 1, 60, 60, &pl->max_shots, err, errlen) < 0 ||
	    member_int(obj, where, "max_jobs_in_flight", 0, 1000000, 0, &pl->max_jobs_in_flight, err, errlen) < 0 ||
	    member_int(obj, where, "retention_days", 0, 36500, 0, &pl->retention_days, err, errlen) < 0)
		return -1;
	if (member_id(obj, where, "stripe_price", &pl->stripe_price, err, errlen) < 0)
		return -1;
	return member_id(obj, where, "lemonsqueezy_variant", &pl->lemonsqueezy_variant, err, errlen);
}

static int load_pack(struct billing_pack *pk, const cJSON *obj, char *err, size_t errlen)
{
	char where[160];
	snprintf(where, sizeof(where), "packs.%.100s", obj->string);
	pk->name = xstrdup(obj->string);
	if (!cJSON_IsObject(obj))
		return errbuf_set(err, errlen, "%s: must be an object", where);
	if (!cJSON_GetObjectItemCaseSensitive(obj, "credits"))
		return errbuf_set(err, errlen, "%s.credits: is required", where);
	if (only_members(obj, where, pack_members, ARRAY_SIZE(pack_members), err, errlen) < 0 ||
	    member_int(obj, where, "credits", 1, 1000000000, 0, &pk->credits, err, errlen) < 0 ||
	    member_id(obj, where, "stripe_price", &pk->stripe_price, err, errlen) < 0)
		return -1;
	return member_id(obj, where, "lemonsqueezy_variant", &pk->lemonsqueezy_variant, err, errlen);
}

static int load_plans(struct billing *b, const cJSON *plans, char *err, size_t errlen)
{
	if (!cJSON_IsObject(plans) || !cJSON_GetObjectItemCaseSensitive(plans, "free"))
		return errbuf_set(err, errlen, "plans: must be an object with at least the plan free");
	b->n_plans = (size_t)cJSON_GetArraySize(plans);
	b->plans = xcalloc(b->n_plans, sizeof(*b->plans));
	size_t i = 0;
	for (const cJSON *p = plans->child; p; p = p->next)
		if (load_plan(&b->plans[i++], p, err, errlen) < 0)
			return -1;
	return 0;
}

static int load_packs(struct billing *b, const cJSON *packs, char *err, size_t errlen)
{
	if (!packs)
		return 0;
	if (!cJSON_IsObject(packs))
		return errbuf_set(err, errlen, "packs: must be an object of packs");
	b->n_packs = (size_t)cJSON_GetArraySize(packs);
	b->packs = xcalloc(b->n_packs, sizeof(*b->packs));
	size_t i = 0;
	for (const cJSON *p = packs->child; p; p = p->next)
		if (load_pack(&b->packs[i++], p, err, errlen) < 0)
			return -1;
	return 0;
}

static int load_doc(struct billing *b, const cJSON *doc, char *err, size_t errlen)
{
	if (!cJSON_IsObject(doc))
		return errbuf_set(err, errlen, "the file must hold a JSON object");
	if (only_members(doc, "", top_members, ARRAY_SIZE(top_members), err, errlen) < 0)
		return -1;
	const cJSON *prices = cJSON_GetObjectItemCaseSensitive(doc, "prices");
	if (!prices)
		return errbuf_set(err, errlen, "prices: is required");
	if (load_prices(b, prices, err, errlen) < 0 ||
	    load_plans(b, cJSON_GetObjectItemCaseSensitive(doc, "plans"), err, errlen) < 0 ||
	    load_packs(b, cJSON_GetObjectItemCaseSensitive(doc, "packs"), err, errlen) < 0)
		return -1;
	return member_int(doc, "billing", "checkin_credits", 0, 1000000000, 0, &b->checkin_credits, err, errlen);
}

struct billing *billing_load(const char *path, long reserve_margin_pct, char *err, size_t errlen)
{
	size_t len;
	char *text = file_read_all(path, BILLING_FILE_MAX, &len), why[300];
	if (!text) {
		errbuf_set(err, errlen, "REEL_BILLING_FILE=%s: cannot read it (or it is over 1 MiB)", path);
		return NULL;
	}
	cJSON *doc = json_parse(text, len);
	free(text);
	struct billing *b = xcalloc(1, sizeof(*b));
	b->reserve_margin_pct = reserve_margin_pct;
	int rc = doc ? load_doc(b, doc, why, sizeof(why)) : errbuf_set(why, sizeof(why), "not well-formed JSON");
	cJSON_Delete(doc);
	if (rc < 0) {
		errbuf_set(err, errlen, "REEL_BILLING_FILE=%s: %s", path, why);
		billing_free(b);
		return NULL;
	}
	return b;
}

void billing_free(struct billing *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_prices; i++) {
		free(b->prices[i].stage);
		free(b->prices[i].provider);
	}
	for (size_t i = 0; i < b->n_plans; i++) {
		free(b->plans[i].name);
		free(b->plans[i].stripe_price);
		free(b->plans[i].lemonsqueezy_variant);
	}
	for (size_t i = 0; i < b->n_packs; i++) {
		free(b->packs[i].name);
		free(b->packs[i].stripe_price);
		free(b->packs[i].lemonsqueezy_variant);
	}
	free(b->prices);
	free(b->plans);
	free(b->packs);
	free(b);
}

long billing_price(const struct billing *b, const char *stage, const char *provider)
{
	long fallback = 0;
	for (size_t i = 0; i < b->n_prices; i++) {
		const struct billing_price *p = &b->prices[i];
		if (strcmp(p->stage, stage) != 0)
			continue;
		if (provider && strcmp(p->provider, provider) == 0)
			return p->credits;
		if (strcmp(p->provider, "*") == 0)
			fallback = p->credits;
	}
	return fallback;
}

const struct billing_plan *billing_plan(const struct billing *b, const char *name)
{
	for (size_t i = 0; i < b->n_plans; i++)
		if (strcmp(b->plans[i].name, name) == 0)
			return &b->plans[i];
	return NULL;
}

const struct billing_pack *billing_pack(const struct billing *b, const char *name)
{
	for (size_t i = 0; i < b->n_packs; i++)
		if (strcmp(b->packs[i].name, name) == 0)
			return &b->packs[i];
	return NULL;
}

/* Whether id is the product of provider named by the pair. */
static bool product_is(const char *provider, const char *id, const char *stripe, const char *lemonsqueezy)
{
	const char *mine = strcmp(provider, "stripe") == 0 ? stripe : lemonsqueezy;
	return mine && id && strcmp(mine, id) == 0;
}

const struct billing_plan *billing_plan_by_product(const struct billing *b, const char *provider, const char *id)
{
	for (size_t i = 0; i < b->n_plans; i++)
		if (product_is(provider, id, b->plans[i].stripe_price, b->plans[i].lemonsqueezy_variant))
			return &b->plans[i];
	return NULL;
}

const struct billing_pack *billing_pack_by_product(const struct billing *b, const char *provider, const char *id)
{
	for (size_t i = 0; i < b->n_packs; i++)
		if (product_is(provider, id, b->packs[i].stripe_price, b->packs[i].lemonsqueezy_variant))
			return &b->packs[i];
	return NULL;
}
