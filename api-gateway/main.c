/*
 * api-gateway: the public HTTP API. Requests become job rows and Kafka
 * messages; reads come from PostgreSQL.
 */
#include <stddef.h>

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
		{ "POST", "/v1/jobs", gateway_create_job },
		{ "GET", "/v1/jobs", gateway_list_jobs },
		{ "GET", "/v1/jobs/{id}", gateway_get_job },
		{ "GET", "/v1/jobs/{id}/events", gateway_job_events },
		{ "POST", "/v1/jobs/{id}/events/tokens", gateway_create_stream_token },
		{ "GET", "/v1/voices", gateway_list_voices },
		{ "POST", "/v1/jobs/{id}/cancel", gateway_cancel_job },
		{ "POST", "/v1/jobs/{id}/approve", gateway_approve_job },
		{ "POST", "/v1/jobs/{id}/retry", gateway_retry_job },
		{ "PATCH", "/v1/jobs/{id}/shots/{n}", gateway_patch_shot },
		{ "POST", "/v1/jobs/{id}/shots/{n}/regenerate", gateway_regenerate_shot },
		{ "POST", "/v1/jobs/{id}/shots/{n}/skip", gateway_skip_shot },
		{ "GET", "/v1/jobs/{id}/manifest", gateway_get_manifest },
		{ "POST", "/v1/jobs/{id}/shares", gateway_create_share },
		{ "GET", "/v1/jobs/{id}/shares", gateway_list_shares },
		{ "DELETE", "/v1/jobs/{id}/shares/{token}", gateway_revoke_share },
		{ "GET", "/s/{token}", gateway_share_page },
		{ "GET", "/s/{token}/{asset}", gateway_share_asset },
		{ "GET", "/v1/files/{path*}", gateway_get_file },
		{ "POST", "/v1/uploads", gateway_create_upload },
		{ "GET", "/v1/uploads", gateway_list_uploads },
		{ "GET", "/v1/uploads/{id}", gateway_get_upload },
		{ "PUT", "/v1/uploads/{id}", gateway_put_upload },
		{ "DELETE", "/v1/uploads/{id}", gateway_delete_upload },
		{ "POST", "/v1/uploads/{id}/complete", gateway_complete_upload },
		{ "GET", "/openapi.json", gateway_get_openapi },
	};
	/* Not static: the option count is known only at link time; main's frame outlives the daemon. */
	const struct daemon_spec spec = {
		.name = "api-gateway",
		.default_http_addr = "127.0.0.1:8080",
		.routes = routes,
		.n_routes = ARRAY_SIZE(routes),
		.max_body = 1024 * 1024,
		.options = gateway_options,
		.n_options = gateway_n_options,
		.config = &gateway,
		.configure = gateway_openapi_configure,
		.http_before = before_route,
		.http_body_file = gateway_upload_body_file,
	};
	return daemon_main(&spec, &gateway, gateway_start);
}
