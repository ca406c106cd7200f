/*
 * The benchmark's stand-in for an image vendor that answers at once: every
 * request on a keep-alive connection gets a Replicate-shaped 201 prediction
 * with a fresh id, so render-worker's submission rate is measured rather than
 * a Python simulator's. Single-threaded, poll()-driven.
 *
 *   reel-vendor-stub PORT_FILE      writes the port it listens on, serves until killed
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "banned.h"

#define MAX_FDS 1024
#define BUF 65536

struct conn {
	char in[BUF];
	size_t got;
};

static struct conn *conns[MAX_FDS];
static unsigned long next_id;

/* Length of the first complete request in c, or 0 while it is incomplete. */
static size_t complete(const struct conn *c)
{
	const char *end = memmem(c->in, c->got, "\r\n\r\n", 4), *p;
	size_t head, body = 0;
	if (!end)
		return 0;
	head = (size_t)(end - c->in) + 4;
	for (p = c->in; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
		p += *p == '\n';
		if (strncasecmp(p, "content-length:", 15) == 0)
			body = strtoul(p + 15, NULL, 10);
	}
	return c->got >= head + body ? head + body : 0;
}

static int answer(int fd)
{
	char body[256], out[512];
	int blen = snprintf(body, sizeof(body),
			    "{\"id\":\"stub%lu\",\"status\":\"starting\",\"output\":null,\"error\":null,"
			    "\"urls\":{\"get\":\"http://stub/v1/predictions/stub%lu\"}}",
			    next_id, next_id);
	next_id++;
	int n = snprintf(out, sizeof(out),
			 "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
			 "Content-Length: %d\r\n\r\n%s",
			 blen, body);
	return write(fd, out, (size_t)n) == n ? 0 : -1;
}

static int serve(int fd)
{
	struct conn *c = conns[fd];
	ssize_t n = read(fd, c->in + c->got, BUF - c->got);
	size_t len;
	if (n <= 0)
		return -1;
	c->got += (size_t)n;
	while ((len = complete(c)) > 0) {
		if (answer(fd) < 0)
			return -1;
		memmove(c->in, c->in + len, c->got - len);
		c->got -= len;
	}
	return c->got == BUF ? -1 : 0; /* a request larger than the buffer is not ours */
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct pollfd fds[MAX_FDS];
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (argc != 2 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 512) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
		fprintf(stderr, "usage: reel-vendor-stub PORT_FILE\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "w");
	if (!f)
		return 2;
	fprintf(f, "%d\n", ntohs(a.sin_port));
	fclose(f);
	for (;;) {
		nfds_t n = 0;
		fds[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int fd = 0; fd < MAX_FDS; fd++)
			if (conns[fd])
				fds[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(fds, n, -1) < 0)
			continue;
		for (nfds_t i = 1; i < n; i++)
			if (fds[i].revents && serve(fds[i].fd) < 0) {
				close(fds[i].fd);
				free(conns[fds[i].fd]);
				conns[fds[i].fd] = NULL;
			}
		if (fds[0].revents) {
			int cfd = accept(lfd, NULL, NULL);
			if (cfd >= 0 && cfd < MAX_FDS)
				conns[cfd] = calloc(1, sizeof(struct conn));
			else if (cfd >= 0)
				close(cfd);
		}
	}
}
