/*
 * libFuzzer target: the HTTP request path of every daemon (common/http_server.c
 * with llhttp). A real server listens on loopback in this process; each input
 * is written raw over a fresh TCP connection, the write side is closed, and
 * the loop runs until the server has answered and closed. Requests that reach
 * a route echo their body, so routing, headers, bodies and problems are all
 * exercised exactly as in a daemon.
 */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_echo(struct http_exchange *x, void *arg)
{
	struct http_request *rq = http_request_of(x);
	char q[64];
	(void)arg;
	(void)http_header(rq, "content-type");
	(void)http_query(rq, "cursor", q, sizeof(q));
	http_reply(x, 200, "application/octet-stream", rq->body, rq->body_len);
}

static void on_problem(struct http_exchange *x, void *arg)
{
	(void)arg;
	http_problem(x, 422, "invalid-field", "Invalid field", http_request_of(x)->params[0], "id");
}

static const struct http_route routes[] = {
	{ "POST", "/v1/jobs", on_echo },
	{ "GET", "/v1/jobs/{id}", on_problem },
	{ "PATCH", "/v1/jobs/{id}/shots/{n}", on_echo },
	{ "GET", "/v1/files/{path*}", on_echo },
};

static struct http_server *server;
static int port;

static void start_server(void)
{
	const struct http_server_opts opts = {
		.max_body = 64 * 1024, .max_header_bytes = 8 * 1024, .idle_timeout_ms = 2000, .request_timeout_ms = 2000
	};
	char err[256];
	server = http_server_new(uv_default_loop(), "127.0.0.1:0", routes, sizeof(routes) / sizeof(routes[0]), NULL,
				 &opts, err, sizeof(err));
	assert(server);
	port = http_server_port(server);
}

static int connect_client(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		assert(errno == EINPROGRESS);
	return fd;
}

/* Runs the loop until the server closed our connection (read returns 0 or an error). */
static void exchange(int fd, const uint8_t *data, size_t size)
{
	size_t sent = 0;
	bool shut = false;
	char buf[65536];
	for (;;) {
		if (sent < size) {
			ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				sent = size;
		}
		if (sent == size && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r == 0 || (r < 0 && errno != EAGAIN))
			return;
		uv_run(uv_default_loop(), UV_RUN_NOWAIT);
		struct pollfd p = { fd, POLLIN, 0 };
		(void)poll(&p, 1, 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!server)
		start_server();
	int fd = connect_client();
	exchange(fd, data, size);
	close(fd);
	/* Let the server finish closing its side before the next input. */
	for (int i = 0; i < 4; i++)
		uv_run(uv_default_loop(), UV_RUN_NOWAIT);
	return 0;
}
