/*
 * api-gateway: the public HTTP API. Requests become job rows and Kafka
 * messages; reads come from PostgreSQL.
 */
#include "daemon.h"
#include "gateway.h"

int main(void)
{
	static const struct http_route routes[] = {
		{ "POST", "/v1/jobs", gateway_create_job },
		{ "GET", "/v1/jobs/{id}", gateway_get_job },
	};
	static const struct daemon_spec spec = {
		.name = "api-gateway",
		.default_http_addr = "127.0.0.1:8080",
		.routes = routes,
		.n_routes = ARRAY_SIZE(routes),
		.max_body = 1024 * 1024,
	};
	static struct gateway gateway;
	return daemon_main(&spec, &gateway, gateway_start);
}
