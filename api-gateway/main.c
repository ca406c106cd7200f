/*
 * api-gateway: the public HTTP API. Requests become job rows and Kafka
 * messages; reads come from PostgreSQL.
 */
#include <stddef.h>

#include "daemon.h"
#include "gateway.h"

static struct gateway gateway;

static const struct config_option options[] = {
	{ "REEL_URL_SECRET", CONFIG_STRING, NULL, CONFIG_SECRET, offsetof(struct gateway, cfg.url_secret), 0, 0,
	  "key that signs download URLs (shared by every gateway; random per start when unset)" },
	{ "REEL_URL_TTL_S", CONFIG_INT, "3600", 0, offsetof(struct gateway, cfg.url_ttl_s), 60, 7 * 86400,
	  "seconds a download URL stays valid" },
};

int main(void)
{
	static const struct http_route routes[] = {
		{ "POST", "/v1/jobs", gateway_create_job },
		{ "GET", "/v1/jobs/{id}", gateway_get_job },
		{ "GET", "/v1/files/{path*}", gateway_get_file },
	};
	static const struct daemon_spec spec = {
		.name = "api-gateway",
		.default_http_addr = "127.0.0.1:8080",
		.routes = routes,
		.n_routes = ARRAY_SIZE(routes),
		.max_body = 1024 * 1024,
		.options = options,
		.n_options = ARRAY_SIZE(options),
		.config = &gateway,
	};
	return daemon_main(&spec, &gateway, gateway_start);
}
