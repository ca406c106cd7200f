/*
 * The gateway's live parts: the LISTEN connection and the event streams it
 * feeds, the per-user rate limit's buckets (rate_check.c takes from them) and
 * the webhook sender. Started after the daemon is up, stopped
 * before its HTTP server closes (streams end cleanly first).
 */
#include "live_api.h"

#include <string.h>

#include "errbuf.h"
#include "gateway.h"
#include "job_cache.h"
#include "live.h"
#include "log.h"
#include "ratelimit.h"
#include "sse.h"
#include "str.h"
#include "webhook.h"
#include "webhook_send.h"
#include "banned.h"

#define SWEEP_MS 60000

static void on_sweep(uv_timer_t *t)
{
	struct gateway *g = t->data;
	ratelimit_sweep(g->rate, uv_now(t->loop));
}

static void on_webhooks(void *arg)
{
	struct gateway *g = arg;
	webhook_send_wake(g->webhooks);
}

int live_api_webhook_configure(struct gateway *g, char *err, size_t errlen)
{
	char why[160];
	int n;
	if (!g->cfg.webhook_secret || !*g->cfg.webhook_secret) {
		char hex[65]; /* 256 random bits; the hex text itself serves as the key */
		str_random_hex(hex, 32);
		memcpy(g->webhook_key, hex, 64);
		g->webhook_keylen = 64;
		log_warn("REEL_WEBHOOK_SECRET is not set: outbound webhooks are signed with a key made at start, "
			 "which their receivers cannot know");
		return 0;
	}
	if ((n = webhook_sign_key(g->cfg.webhook_secret, g->webhook_key, sizeof(g->webhook_key), why, sizeof(why))) < 0)
		return errbuf_set(err, errlen, "REEL_WEBHOOK_SECRET: %s", why);
	g->webhook_keylen = (size_t)n;
	return 0;
}

int live_api_start(struct gateway *g)
{
	struct daemon *d = g->d;
	g->sse = sse_hub_new(d->loop, (unsigned)g->cfg.sse_heartbeat_s * 1000);
	const struct webhook_sender_settings ws = { g->webhook_key,
						    g->webhook_keylen,
						    g->cfg.allow_private_webhooks,
						    g->cfg.webhook_timeout_s * 1000,
						    (uint64_t)g->cfg.webhook_retry_base_ms,
						    g->cfg.public_base_url };
	g->webhooks = webhook_send_new(d, &ws);
	g->live = live_new(d->loop, d->cfg.database_url, g->sse, on_webhooks, g);
	if (g->cfg.job_cache_ms > 0) {
		/* Signed URLs live at least REEL_URL_TTL_S (>= 60 s) from rendering, so an
		 * entry's life (<= 1 s) always ends before the links it holds expire. */
		long ttl = g->cfg.job_cache_ms < g->cfg.url_ttl_s * 1000 ? g->cfg.job_cache_ms
									 : g->cfg.url_ttl_s * 1000;
		g->cache = job_cache_new((size_t)g->cfg.job_cache_kb * 1024, (uint64_t)ttl);
		live_set_cache(g->live, g->cache);
	}
	if (g->cfg.rate_per_s > 0) {
		g->rate = ratelimit_new((double)g->cfg.rate_per_s, (double)g->cfg.rate_burst);
		uv_timer_init(d->loop, &g->rate_sweep);
		g->rate_sweep.data = g;
		uv_timer_start(&g->rate_sweep, on_sweep, SWEEP_MS, SWEEP_MS);
	}
	return 0;
}

void live_api_stop(struct gateway *g)
{
	sse_hub_free(g->sse);
	g->sse = NULL;
	live_free(g->live);
	g->live = NULL;
	job_cache_free(g->cache);
	g->cache = NULL;
	webhook_send_free(g->webhooks);
	g->webhooks = NULL;
	if (g->rate) {
		uv_close((uv_handle_t *)&g->rate_sweep, NULL);
		ratelimit_free(g->rate);
		g->rate = NULL;
	}
}
