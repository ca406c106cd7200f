/*
 * api-gateway: the public HTTP API. Requests become job rows and Kafka
 * messages; reads come from PostgreSQL.
 */
#include <stddef.h>

#include "billing_checkout.h"
#include "cors.h"
#include "daemon.h"
#include "events_api.h"
#include "files_api.h"
#include "gateway.h"
#include "gateway_options.h"
#include "jobs_actions.h"
#include "jobs_api.h"
#include "jobs_list.h"
#include "manifest_api.h"
#include "me_api.h"
#include "openapi.h"
#include "share_page.h"
#include "shares.h"
#include "shot_actions.h"
#include "uploads.h"
#include "voices_api.h"

static struct gateway gateway;

/* CORS headers on every answer, and preflights answered, when origins are configured. */
static bool before_route(struct http_exchange *x, void *arg)
{
	struct gateway *g = ((struct daemon *)arg)->app;
	return g->cors && cors_before(g->cors, x);
}

int main(void)
{
	static const struct http_route routes[] = {
		{ "POST", "/v1/jobs", jobs_api_create },
		{ "GET", "/v1/jobs", jobs_list_get },
		{ "GET", "/v1/jobs/{id}", jobs_api_get },
		{ "GET", "/v1/jobs/{id}/events", events_api_job_events },
		{ "POST", "/v1/jobs/{id}/events/tokens", events_api_create_stream_token },
		{ "GET", "/v1/voices", voices_api_list },
		{ "GET", "/v1/me", me_api_get },
		{ "GET", "/v1/me/ledger", me_api_ledger },
		{ "POST", "/v1/me/checkin", me_api_checkin },
		{ "POST", "/v1/jobs/{id}/cancel", jobs_actions_cancel },
		{ "POST", "/v1/jobs/{id}/approve", jobs_actions_approve },
		{ "POST", "/v1/jobs/{id}/retry", jobs_actions_retry },
		{ "PATCH", "/v1/jobs/{id}/shots/{n}", shot_actions_patch },
		{ "POST", "/v1/jobs/{id}/shots/{n}/regenerate", shot_actions_regenerate },
		{ "POST", "/v1/jobs/{id}/shots/{n}/skip", shot_actions_skip },
		{ "GET", "/v1/jobs/{id}/manifest", manifest_api_get },
		{ "POST", "/v1/jobs/{id}/shares", shares_create },
		{ "GET", "/v1/jobs/{id}/shares", shares_list },
		{ "DELETE", "/v1/jobs/{id}/shares/{token}", shares_revoke },
		{ "GET", "/s/{token}", share_page_get },
		{ "GET", "/s/{token}/{asset}", share_page_asset },
		{ "GET", "/v1/files/{path*}", files_api_get_file },
		{ "POST", "/v1/uploads", uploads_create },
		{ "GET", "/v1/uploads", uploads_list },
		{ "GET", "/v1/uploads/{id}", uploads_get },
		{ "PUT", "/v1/uploads/{id}", upload_put_handle },
		{ "DELETE", "/v1/uploads/{id}", uploads_delete },
		{ "POST", "/v1/uploads/{id}/complete", upload_complete_post },
		{ "POST", "/v1/billing/checkout", billing_checkout_post },
		{ "GET", "/openapi.json", openapi_get },
	};
	/* Not static: the option count is known only at link time; main's frame outlives the daemon. */
	const struct daemon_spec spec = {
		.name = "api-gateway",
		.default_http_addr = "127.0.0.1:8080",
		.routes = routes,
		.n_routes = ARRAY_SIZE(routes),
		.max_body = 1024 * 1024,
		.options = gateway_options,
		.n_options = gateway_options_n,
		.config = &gateway,
		.configure = openapi_configure,
		.http_before = before_route,
		.http_body_file = upload_put_body_file,
	};
	return daemon_main(&spec, &gateway, jobs_api_start);
}
