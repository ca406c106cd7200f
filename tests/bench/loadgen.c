/*
 * The benchmark's submitter: sends N copies of one request over C keep-alive
 * connections as fast as the server answers, and counts the answers by
 * status. A C client keeps the load generator's own CPU out of the figures
 * on a machine whose cores the fleet shares.
 *
 *   reel-loadgen PORT COUNT CONNS PATH BODY_FILE
 *
 * Prints "answered=N ok=N seconds=S" and, on any answer other than 202,
 * the first such answer; exits 1 when any request failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define MAX_CONNS 256
#define RESPONSE_MAX 65536

struct conn {
	int fd;
	size_t sent;           /* bytes of the request written */
	char in[RESPONSE_MAX]; /* the answer being read */
	size_t got;
	int busy; /* a request is outstanding */
};

static char *request;
static size_t request_len;
static long answered, ok, started, total;
static char first_error[512];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	*len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	return buf;
}

static int connect_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Length of a complete answer at the start of c->in, or 0 while incomplete. */
static size_t answer_length(const struct conn *c)
{
	const char *end = memmem(c->in, c->got, "\r\n\r\n", 4), *cl;
	if (!end)
		return 0;
	size_t head = (size_t)(end - c->in) + 4, body = 0;
	cl = memmem(c->in, head, "Content-Length:", 15);
	if (!cl)
		cl = memmem(c->in, head, "content-length:", 15);
	if (cl)
		body = strtoul(cl + 15, NULL, 10);
	return c->got >= head + body ? head + body : 0;
}

static void finish_answer(struct conn *c, size_t len)
{
	answered++;
	if (strncmp(c->in, "HTTP/1.1 202", 12) == 0)
		ok++;
	else if (!first_error[0])
		snprintf(first_error, sizeof(first_error), "%.*s", (int)(len < 500 ? len : 500), c->in);
	memmove(c->in, c->in + len, c->got - len);
	c->got -= len;
	c->busy = 0;
}

static void on_readable(struct conn *c)
{
	ssize_t n = read(c->fd, c->in + c->got, sizeof(c->in) - c->got);
	if (n <= 0) {
		fprintf(stderr, "connection closed by the server (%s)\n", n < 0 ? strerror(errno) : "eof");
		exit(1);
	}
	c->got += (size_t)n;
	size_t len;
	while (c->busy && (len = answer_length(c)))
		finish_answer(c, len);
}

static void on_writable(struct conn *c)
{
	ssize_t n = write(c->fd, request + c->sent, request_len - c->sent);
	if (n < 0 && errno != EAGAIN) {
		perror("write");
		exit(1);
	}
	if (n > 0)
		c->sent += (size_t)n;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s PORT COUNT CONNS PATH BODY_FILE\n", argv[0]);
		return 2;
	}
	int port = atoi(argv[1]), nconn = atoi(argv[3]);
	total = atol(argv[2]);
	size_t body_len;
	char *body = read_file(argv[5], &body_len);
	if (!body || nconn < 1 || nconn > MAX_CONNS) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	request = malloc(body_len + 512);
	request_len = (size_t)snprintf(request, body_len + 512,
				       "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
				       "Content-Length: %zu\r\n\r\n%.*s",
				       argv[4], body_len, (int)body_len, body);
	static struct conn conns[MAX_CONNS];
	struct pollfd pfd[MAX_CONNS];
	for (int i = 0; i < nconn; i++)
		conns[i].fd = connect_to(port);
	double t0 = now_s();
	while (answered < total) {
		for (int i = 0; i < nconn; i++) {
			struct conn *c = &conns[i];
			if (!c->busy && started < total) {
				c->busy = 1;
				c->sent = 0;
				started++;
			}
			pfd[i].fd = c->fd;
			pfd[i].events = POLLIN | (c->busy && c->sent < request_len ? POLLOUT : 0);
		}
		if (poll(pfd, (nfds_t)nconn, 30000) <= 0) {
			fprintf(stderr, "no answer within 30 s\n");
			return 1;
		}
		for (int i = 0; i < nconn; i++) {
			if (pfd[i].revents & POLLOUT)
				on_writable(&conns[i]);
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				on_readable(&conns[i]);
		}
	}
	printf("answered=%ld ok=%ld seconds=%.3f\n", answered, ok, now_s() - t0);
	if (first_error[0])
		printf("first refusal: %s\n", first_error);
	for (int i = 0; i < nconn; i++)
		close(conns[i].fd);
	free(request);
	free(body);
	return ok == total ? 0 : 1;
}
