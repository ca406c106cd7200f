/*
 * webhook-receiver: takes provider callbacks. With the offline providers no
 * callback ever comes; it serves its health endpoints so operators can run
 * the whole fleet as it will be with asynchronous vendors.
 */
#include "daemon.h"

int main(void)
{
	static const struct daemon_spec spec = {
		.name = "webhook-receiver",
		.default_http_addr = "127.0.0.1:8081",
	};
	return daemon_main(&spec, NULL, NULL);
}
