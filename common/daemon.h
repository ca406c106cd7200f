/*
 * The runtime every reelforge daemon shares: configuration, logging, the
 * libuv loop, PostgreSQL, the Kafka producer and outbox, storage, and the
 * HTTP server with /healthz, /readyz and /metrics. A daemon fills in a spec;
 * the worker loop and api-gateway build on this.
 */
#ifndef REEL_DAEMON_H
#define REEL_DAEMON_H

#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "http_server.h"
#include "s3.h"
#include "util.h"

struct billing;
struct daemon;

/* The options every daemon reads (docs/architecture.md, Configuration). */
struct daemon_config {
	char *database_url;
	char *kafka_brokers;
	char *kafka_extra;
	char *topic_prefix;
	char *storage_url;
	struct s3_config s3; /* REEL_S3_*, read when storage_url is s3:// */
	char *http_addr;
	char *public_url;
	char *log_level;
	char *log_file; /* REEL_LOG_FILE: log lines appended there (reopened on SIGHUP), else stderr */
	long fetch_wait_ms;
	long linger_ms;
	long session_ms;
	long shutdown_grace_s;
	bool skip_media;         /* offline providers skip drawing, speech and encoding (fleet benchmarks) */
	long http_max_body;      /* request body limit, 0 = the spec's */
	long http_max_header;    /* request line + headers limit */
	long http_idle_s;        /* keep-alive idle timeout */
	long http_request_s;     /* slow-client timeout: the whole request must arrive within it */
	char *billing_file;      /* REEL_BILLING_FILE, or NULL: billing off */
	long reserve_margin_pct; /* REEL_RESERVE_MARGIN */
};

struct daemon_spec {
	const char *name;                    /* binary and log name */
	const char *default_http_addr;       /* REEL_HTTP_ADDR default */
	const struct config_option *options; /* the daemon's own options, or NULL */
	size_t n_options;
	void *config;                    /* where those options go */
	const struct http_route *routes; /* routes besides the health ones */
	size_t n_routes;
	size_t max_body; /* request body limit, 0 = 64 KiB */
	/* After the configuration is read, before anything connects or listens:
	 * checks and adjusts it (may change d->cfg). -1 with err refuses to start. */
	int (*configure)(struct daemon *d, char *err, size_t errlen);
	/* The HTTP server's hook run before every request is routed (http_server_opts.before), or NULL. */
	bool (*http_before)(struct http_exchange *x, void *arg);
	/* The HTTP server's hook choosing bodies streamed to disk (http_server_opts.body_file), or NULL. */
	char *(*http_body_file)(const struct http_request *rq, size_t *limit, void *arg);
};

struct daemon {
	const char *name;
	uv_loop_t *loop;
	struct daemon_config cfg;
	const struct daemon_spec *spec;
	struct db *db;
	struct kafka_producer *producer;
	struct outbox *outbox;
	struct events *events; /* job events staged in the open transaction */
	struct storage *storage;
	struct billing *billing; /* prices, plans and packs; NULL when billing is off */
	struct http_server *http;
	struct http_route *routes; /* health routes + the spec's, for http */
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t reconnect_timer;
	unsigned reconnect_delay_ms;
	bool stopping;
	void *app;                         /* the daemon's own state, for route handlers */
	void (*on_stop)(struct daemon *d); /* first SIGTERM: stop taking work, then call daemon_shutdown */
};

/* Loads configuration, connects everything, starts serving. -1 with err. */
int daemon_start(struct daemon *d, const struct daemon_spec *spec, char *err, size_t errlen) WARN_UNUSED;
/* Runs the loop until everything is closed; returns the exit code. */
int daemon_run(struct daemon *d);
/* Closes every handle so daemon_run returns. */
void daemon_shutdown(struct daemon *d);
/* Starts reconnecting to PostgreSQL with backoff (after a connection error). */
void daemon_db_lost(struct daemon *d);
/* Writes the events and outbox rows staged in the open transaction and
 * commits it; on failure rolls back and drops them. The caller publishes
 * the outbox afterwards. 0 or -1. */
int daemon_commit(struct daemon *d) WARN_UNUSED;
/* Rolls back the open transaction and drops what it staged. */
void daemon_rollback(struct daemon *d);
/* Frees what daemon_start acquired, after daemon_run returned. */
void daemon_release(struct daemon *d);
/* The topic name for a stage ("render" -> "reel.render"); the caller frees. */
char *daemon_topic(const struct daemon *d, const char *stage);
/* For daemons without extra needs: start, run, release; the exit code for main(). */
int daemon_main(const struct daemon_spec *spec, void *app, void (*on_started)(struct daemon *d));

/* The options every daemon reads into its daemon_config. */
extern const struct config_option daemon_options[];
extern const size_t daemon_n_options;

#endif
