/*
 * webhook-receiver: takes the image and video vendors' callbacks under
 * /webhooks/<vendor>, verifies them, stores the outputs and resumes the
 * pipeline; its sweeper polls tasks whose callback is overdue (and ComfyUI,
 * which never calls back), retries failed ones and cancels those of ended jobs.
 * It also takes the payment providers' webhooks (pay.h) when billing is on.
 */
#include <stdlib.h>

#include "daemon.h"
#include "settle.h"
#include "vendors/fal_queue.h"
#include "http_client.h"
#include "log.h"
#include "metrics.h"
#include "pay.h"
#include "receiver.h"

/* Callbacks may carry outputs inline as data: URIs. */
#define MAX_CALLBACK_BODY (32u << 20)

static struct vendors vendors;
static struct receiver receiver = { .v = &vendors };

static int configure(struct daemon *d, char *err, size_t errlen)
{
	struct receiver *rc = d->app;
	rc->d = d;
	if (retry_policy_init(&rc->retry, "render", err, errlen) < 0)
		return -1;
	rc->http = http_client_new(d->loop);
	return callbacks_init(rc, err, errlen);
}

static void on_stop(struct daemon *d)
{
	struct receiver *rc = d->app;
	sweeper_stop(rc);
	settle_stop(rc);
	http_client_free(rc->http);
	rc->http = NULL;
	fal_queue_keys_free(rc->fal_keys);
	rc->fal_keys = NULL;
	daemon_shutdown(d);
}

static void on_started(struct daemon *d)
{
	struct receiver *rc = d->app;
	rc->m_callbacks = metrics_counter("reel_webhooks_total", "Vendor callbacks received", "");
	rc->m_refused = metrics_counter("reel_webhooks_refused_total", "Callbacks refused for their signature", "");
	rc->m_replayed = metrics_counter("reel_webhooks_replayed_total", "Callbacks whose delivery was seen before",
					 "");
	rc->m_finished = metrics_counter("reel_render_tasks_finished_total", "Vendor tasks whose output was stored",
					 "");
	rc->m_failed = metrics_counter("reel_render_tasks_failed_total", "Vendor tasks that failed", "");
	d->on_stop = on_stop;
	settle_start(rc);
	sweeper_start(rc);
}

int main(void)
{
	static const struct http_route routes[] = {
		{ "POST", "/webhooks/replicate", callbacks_replicate },
		{ "POST", "/webhooks/fal", callbacks_fal },
		{ "POST", "/webhooks/stripe", pay_stripe_route },
		{ "POST", "/webhooks/lemonsqueezy", pay_lemonsqueezy_route },
	};
	/* Not static: the option count is known only at link time. */
	const struct daemon_spec spec = {
		.name = "webhook-receiver",
		.default_http_addr = "127.0.0.1:8081",
		.options = vendors_options,
		.n_options = vendors_n_options,
		.config = &vendors,
		.routes = routes,
		.n_routes = ARRAY_SIZE(routes),
		.max_body = MAX_CALLBACK_BODY,
		.configure = configure,
	};
	return daemon_main(&spec, &receiver, on_started);
}
