/*
 * reel-devbroker: the dev Kafka broker. A small daemon around librdkafka's
 * in-memory mock cluster (rdkafka_mock.h) that speaks the real Kafka protocol
 * on loopback, so every daemon runs with ordinary librdkafka clients on one
 * machine and in tests. It creates the fleet's topics, then publishes its
 * bootstrap address on stdout and, atomically, in --addr-file.
 *
 * DESIGN: the mock cluster serves clients on its own librdkafka thread; the
 * main thread only sets it up and then sleeps on a self-pipe that the signal
 * handler writes to. Two libc calls are interposed here, in the executable,
 * so they take precedence over libc for librdkafka too (dlsym RTLD_NEXT
 * reaches the real ones):
 *  - accept()/accept4(): the mock does not set TCP_NODELAY on the sockets it
 *    accepts, so its small responses stall ~40 ms behind Nagle/delayed ACK.
 *  - bind(): librdkafka 2.0.2 has no way to choose the mock's listen port (it
 *    binds 127.0.0.1:0). With --port, binds of exactly that address made
 *    while the cluster is being created get port, port+1, ... instead.
 * Other 2.0.2 mock quirks worked around below: lost wake-ups of the mock
 * thread while topics are created (a short-lived "nudger" thread pokes it)
 * and an abort when a broker cannot bind (ports are checked first).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "log.h"
#include "util.h"

#include "banned.h"

#define MAX_PREFIX 200 /* Kafka allows 249-char topic names; leave room for the stage */

static const char *const stages[] = { "parse", "render", "tts", "merge", "events", "dlq" };

struct options {
	int brokers;           /* mock brokers, ids 1..brokers */
	int partitions;        /* per topic */
	int port;              /* first listen port, 0 = kernel's choice */
	const char *prefix;    /* topic name prefix */
	const char *addr_file; /* where to publish the bootstrap list, or NULL */
	enum log_level level;
};

/* ---- libc interposition (see DESIGN) ---- */

#ifndef _GNU_SOURCE
#error "the interposers below take glibc's transparent-union socket arguments"
#endif

typedef int accept_fn(int, __SOCKADDR_ARG, socklen_t *);
typedef int accept4_fn(int, __SOCKADDR_ARG, socklen_t *, int);
typedef int bind_fn(int, __CONST_SOCKADDR_ARG, socklen_t);

static accept_fn *real_accept;
static accept4_fn *real_accept4;
static bind_fn *real_bind;
static atomic_int next_bind_port;  /* nonzero only while the cluster is created */
static atomic_ulong nodelay_count; /* accepted sockets given TCP_NODELAY */

/* Runs before main and before any librdkafka thread exists. */
__attribute__((constructor)) static void resolve_real_calls(void)
{
	real_accept = (accept_fn *)dlsym(RTLD_NEXT, "accept");
	real_accept4 = (accept4_fn *)dlsym(RTLD_NEXT, "accept4");
	real_bind = (bind_fn *)dlsym(RTLD_NEXT, "bind");
	if (!real_accept || !real_accept4 || !real_bind) {
		fprintf(stderr, "reel-devbroker: dlsym(RTLD_NEXT) failed: %s\n", dlerror());
		abort();
	}
}

static void set_nodelay(int fd)
{
	int proto = 0, one = 1;
	socklen_t len = sizeof(proto);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0 || proto != IPPROTO_TCP)
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
		log_warn("TCP_NODELAY on accepted socket %d: %s", fd, strerror(errno));
		return;
	}
	unsigned long n = atomic_fetch_add(&nodelay_count, 1) + 1;
	log_debug("accepted connection fd=%d: TCP_NODELAY set (%lu so far)", fd, n);
}

int accept(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	int saved, s = real_accept(fd, addr, len);

	saved = errno;
	set_nodelay(s);
	errno = saved;
	return s;
}

int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
	int saved, s = real_accept4(fd, addr, len, flags);

	saved = errno;
	set_nodelay(s);
	errno = saved;
	return s;
}

int bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)addr.__sockaddr__;
	struct sockaddr_in fixed;

	if (atomic_load(&next_bind_port) == 0 || !in || len != sizeof(fixed) || in->sin_family != AF_INET ||
	    in->sin_port != 0 || in->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		return real_bind(fd, addr, len);
	fixed = *in;
	fixed.sin_port = htons((uint16_t)atomic_fetch_add(&next_bind_port, 1));
	return real_bind(fd, (const struct sockaddr *)&fixed, len);
}

/* ---- signals ---- */

static int wake_pipe[2] = { -1, -1 };
static volatile sig_atomic_t stopping;

/* The first signal asks main to shut down; a second one exits at once. */
static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (stopping)
		_exit(1);
	stopping = 1;
	ssize_t unused = write(wake_pipe[1], &c, 1); /* one byte into an empty pipe */
	(void)unused;
	errno = saved;
}

static int install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (pipe2(wake_pipe, O_CLOEXEC) != 0)
		return log_error("pipe: %s", strerror(errno));
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a vanished client or stdout reader must not kill us */
	return 0;
}

/* Returns the signal that woke us. */
static int wait_for_signal(void)
{
	char c = 0;
	ssize_t n;

	do
		n = read(wake_pipe[0], &c, 1);
	while (n < 0 && errno == EINTR);
	return c;
}

/* ---- options ---- */

static void usage(FILE *to)
{
	fprintf(to, "usage: reel-devbroker [--brokers N] [--partitions P] [--topic-prefix PREFIX]\n"
		    "                      [--port PORT] [--addr-file PATH] [--log-level LEVEL]\n"
		    "  --brokers N          mock brokers (default 1)\n"
		    "  --partitions P       partitions per topic (default 12)\n"
		    "  --topic-prefix S     topic prefix (default $REEL_TOPIC_PREFIX or \"reel.\")\n"
		    "  --port PORT          listen on PORT..PORT+N-1 (default: random free ports)\n"
		    "  --addr-file PATH     write the bootstrap list here once topics exist\n"
		    "  --log-level L        debug|info|warn|error (default $REEL_LOG_LEVEL or info);\n"
		    "                       debug also traces every mock request\n");
}

static int parse_int(const char *name, const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return log_error("bad value for %s: \"%s\" (want an integer %d..%d)", name, s, lo, hi);
	*out = (int)v;
	return 0;
}

/* Kafka topic names are [a-zA-Z0-9._-]; refuse a prefix that would break them. */
static int check_prefix(const char *p)
{
	if (strlen(p) > MAX_PREFIX)
		return log_error("bad value for --topic-prefix/REEL_TOPIC_PREFIX: longer than %d", MAX_PREFIX);
	if (strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(p))
		return log_error("bad value for --topic-prefix/REEL_TOPIC_PREFIX: \"%s\" "
				 "(allowed: letters, digits, '.', '_', '-')",
				 p);
	return 0;
}

static void set_defaults(struct options *o)
{
	const char *env_prefix = getenv("REEL_TOPIC_PREFIX");
	const char *env_level = getenv("REEL_LOG_LEVEL");

	*o = (struct options){ .brokers = 1, .partitions = 12, .prefix = "reel.", .level = LOG_INFO };
	if (env_prefix && *env_prefix)
		o->prefix = env_prefix;
	if (env_level && *env_level && log_parse_level(env_level, &o->level) != 0)
		log_warn("ignoring bad REEL_LOG_LEVEL \"%s\"", env_level);
}

static int parse_option(struct options *o, int c, const char *arg)
{
	switch (c) {
	case 'b': return parse_int("--brokers", arg, 1, 64, &o->brokers);
	case 'p': return parse_int("--partitions", arg, 1, 10000, &o->partitions);
	case 'P': return parse_int("--port", arg, 1, 65535, &o->port);
	case 't': o->prefix = arg; return 0;
	case 'a': o->addr_file = arg; return 0;
	case 'l':
		if (log_parse_level(arg, &o->level) != 0)
			return log_error("bad value for --log-level: \"%s\"", arg);
		return 0;
	default: usage(stderr); return -1;
	}
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "partitions", required_argument, NULL, 'p' },
		{ "port", required_argument, NULL, 'P' },
		{ "topic-prefix", required_argument, NULL, 't' },
		{ "addr-file", required_argument, NULL, 'a' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	set_defaults(o);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (parse_option(o, c, optarg) != 0)
			return -1;
	}
	if (optind < argc)
		return log_error("unexpected argument \"%s\"", argv[optind]);
	if (o->port && o->port + o->brokers - 1 > 65535)
		return log_error("bad value for --port: %d + %d brokers passes 65535", o->port, o->brokers);
	return check_prefix(o->prefix);
}

/* ---- cluster ---- */

/* librdkafka logs from its own threads; log.c writes each line with one write(2). */
static void on_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers"))
		level = 7; /* expected: this handle only hosts the mock */
	if (level <= 3)
		log_error("rdkafka %s: %s", fac, buf);
	else if (level <= 4)
		log_warn("rdkafka %s: %s", fac, buf);
	else if (level <= 6)
		log_info("rdkafka %s: %s", fac, buf);
	else
		log_debug("rdkafka %s: %s", fac, buf);
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char err[256];

	if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
		return log_error("rdkafka config %s=%s: %s", name, value, err);
	return 0;
}

/* The mock needs an rd_kafka_t for its bookkeeping; it never talks to a broker. */
static rd_kafka_t *host_handle_new(const struct options *o)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[256];
	rd_kafka_t *rk;

	rd_kafka_conf_set_log_cb(conf, on_rdkafka_log);
	if (conf_set(conf, "client.id", "reel-devbroker") != 0 ||
	    (o->level == LOG_DEBUG && conf_set(conf, "debug", "mock") != 0)) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		log_error("rd_kafka_new: %s", err);
	}
	return rk;
}

/*
 * librdkafka 2.0.2 asserts (aborts) when a mock broker cannot bind, so try the
 * ports first, the way the mock binds them, and fail with a readable error.
 */
static int check_ports_free(const struct options *o)
{
	for (int i = 0; i < o->brokers; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_port = htons((uint16_t)(o->port + i)),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP), one = 1, rc;

		if (s < 0)
			return log_error("socket: %s", strerror(errno));
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		rc = real_bind(s, (const struct sockaddr *)&sin, sizeof(sin));
		close(s);
		if (rc != 0)
			return log_error("bad value for --port: 127.0.0.1:%d: %s", o->port + i, strerror(errno));
	}
	return 0;
}

static rd_kafka_mock_cluster_t *cluster_new(rd_kafka_t *rk, const struct options *o)
{
	rd_kafka_mock_cluster_t *mc;

	if (o->port && check_ports_free(o) != 0)
		return NULL;
	atomic_store(&next_bind_port, o->port);
	mc = rd_kafka_mock_cluster_new(rk, o->brokers);
	atomic_store(&next_bind_port, 0);
	if (!mc)
		log_error("cannot create the mock cluster");
	return mc;
}

/*
 * librdkafka 2.0.2's mock thread often misses the wake-up for a request made
 * from another thread and serves it only at its 1 s poll timeout (measured:
 * 3 s to create six topics). While such calls block, a helper thread connects
 * to the listener every 2 ms: the pending connection wakes the mock's poll,
 * which then serves its request queue too.
 */
struct nudger {
	pthread_t thread;
	atomic_bool stop;
	struct sockaddr_in addr; /* first mock broker's listener */
};

static void *nudge_loop(void *arg)
{
	struct nudger *n = arg;
	const struct timespec pause = { .tv_nsec = 2 * 1000 * 1000 };

	while (!atomic_load(&n->stop)) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);

		if (s >= 0) {
			/* the queued connection is the wake-up; its fate does not matter */
			(void)connect(s, (const struct sockaddr *)&n->addr, sizeof(n->addr));
			close(s);
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void nudger_start(struct nudger *n, rd_kafka_mock_cluster_t *mc)
{
	int port = 0;

	sscanf(rd_kafka_mock_cluster_bootstraps(mc), "127.0.0.1:%d", &port);
	n->addr = (struct sockaddr_in){ .sin_family = AF_INET,
					.sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	atomic_store(&n->stop, false);
	if (pthread_create(&n->thread, NULL, nudge_loop, n) != 0) {
		log_warn("nudger thread: %s; mock calls may take up to 1 s", strerror(errno));
		atomic_store(&n->stop, true);
	}
}

static void nudger_stop(struct nudger *n)
{
	if (atomic_exchange(&n->stop, true))
		return;
	pthread_join(n->thread, NULL);
}

/*
 * A group's first JoinGroup waits group.initial.rebalance.delay.ms. librdkafka
 * 2.0.2 fixes it at 3 s; later versions export a setter, found at run time so
 * one binary builds against either.
 */
static void shorten_first_rebalance(rd_kafka_mock_cluster_t *mc)
{
	typedef void setter_fn(rd_kafka_mock_cluster_t *, int32_t);
	setter_fn *set = (setter_fn *)dlsym(RTLD_DEFAULT, "rd_kafka_mock_group_initial_rebalance_delay_ms");

	if (set) {
		set(mc, 0);
		log_info("consumer groups: initial rebalance delay set to 0 ms");
	} else {
		log_info("consumer groups: a group's first assignment takes 3 s "
			 "(fixed in librdkafka %s's mock)",
			 rd_kafka_version_str());
	}
}

static int create_topics(rd_kafka_mock_cluster_t *mc, const struct options *o)
{
	for (size_t i = 0; i < ARRAY_SIZE(stages); i++) {
		char name[MAX_PREFIX + 16];
		rd_kafka_resp_err_t err;

		snprintf(name, sizeof(name), "%s%s", o->prefix, stages[i]);
		err = rd_kafka_mock_topic_create(mc, name, o->partitions, 1);
		if (err)
			return log_error("create topic %s: %s", name, rd_kafka_err2str(err));
	}
	return 0;
}

/* Readers never see a half-written file: write a temporary, then rename. */
static int publish_addr(const char *path, const char *bootstraps)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	int rc = -1;

	if (!f) {
		log_error("addr file %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fprintf(f, "%s\n", bootstraps) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		log_error("addr file %s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		goto out;
	}
	fclose(f);
	if (rename(tmp, path) != 0) {
		log_error("addr file %s: rename: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	return rc;
}

static void log_config(const struct options *o)
{
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	char port[16] = "random";

	if (o->port)
		snprintf(port, sizeof(port), "%d", o->port);
	log_info("config: brokers=%d partitions=%d topic_prefix=%s port=%s addr_file=%s "
		 "log_level=%s",
		 o->brokers, o->partitions, o->prefix, port, o->addr_file ? o->addr_file : "-", levels[o->level]);
}

static int serve(const struct options *o, rd_kafka_mock_cluster_t *mc)
{
	const char *bootstraps;
	int rc;

	struct nudger n;

	shorten_first_rebalance(mc);
	nudger_start(&n, mc);
	rc = create_topics(mc, o);
	nudger_stop(&n);
	if (rc != 0)
		return -1;
	bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
	if (o->addr_file && publish_addr(o->addr_file, bootstraps) != 0)
		return -1;
	printf("%s\n", bootstraps);
	fflush(stdout);
	log_info("ready: bootstrap %s, topics %s{parse,render,tts,merge,events,dlq} x %d", bootstraps, o->prefix,
		 o->partitions);
	int sig = wait_for_signal(); /* not inside log_info: it skips its arguments below info */
	log_info("stopping on signal %d (%lu connections accepted)", sig, atomic_load(&nodelay_count));
	if (o->addr_file)
		unlink(o->addr_file); /* a stale address would send scripts to a dead port */
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_t *rk;
	int rc;

	log_init("reel-devbroker");
	if (parse_args(argc, argv, &o) != 0)
		return 2;
	log_set_level(o.level);
	log_config(&o);
	if (install_signals() != 0)
		return 1;
	if (o.addr_file)
		unlink(o.addr_file);
	rk = host_handle_new(&o);
	if (!rk)
		return 1;
	mc = cluster_new(rk, &o);
	rc = mc ? serve(&o, mc) : -1;
	if (mc) /* up to 1 s: its helper broker thread notices termination by polling */
		rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	if (rc == 0)
		log_info("stopped");
	return rc == 0 ? 0 : 1;
}
