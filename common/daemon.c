/*
 * Start-up, health endpoints, signals and shutdown for every daemon.
 */
#include "daemon.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "billing.h"
#include "db.h"
#include "errbuf.h"
#include "events.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "storage.h"
#include "banned.h"

/* clang-format off */
#define OPT(env, type, def, flags, field, help) \
	{ env, type, def, flags, offsetof(struct daemon_config, field), 0, 0, help }
#define INT_OPT(env, def, field, lo, hi, help) \
	{ env, CONFIG_INT, def, 0, offsetof(struct daemon_config, field), lo, hi, help }
/* clang-format on */

const struct config_option daemon_options[] = {
	OPT("REEL_DATABASE_URL", CONFIG_STRING, NULL, CONFIG_REQUIRED, database_url, "libpq conninfo or URL"),
	OPT("REEL_KAFKA_BROKERS", CONFIG_STRING, NULL, CONFIG_REQUIRED, kafka_brokers, "Kafka bootstrap servers"),
	OPT("REEL_KAFKA_EXTRA", CONFIG_STRING, NULL, CONFIG_SECRET, kafka_extra, "extra librdkafka settings k=v;k=v"),
	OPT("REEL_TOPIC_PREFIX", CONFIG_STRING, "reel.", 0, topic_prefix, "prefix of every topic name"),
	OPT("REEL_STORAGE_URL", CONFIG_STRING, NULL, CONFIG_REQUIRED, storage_url,
	    "file:///path or s3://BUCKET[/PREFIX] for media"),
	OPT("REEL_S3_ENDPOINT", CONFIG_STRING, NULL, 0, s3.endpoint,
	    "S3 endpoint http(s)://host[:port] (else AWS_ENDPOINT_URL_S3, else AWS S3 of the region)"),
	OPT("REEL_S3_REGION", CONFIG_STRING, NULL, 0, s3.region, "S3 signing region (else AWS_REGION, else us-east-1)"),
	OPT("REEL_S3_ACCESS_KEY_ID", CONFIG_STRING, NULL, 0, s3.access_key,
	    "S3 access key id (else AWS_ACCESS_KEY_ID)"),
	OPT("REEL_S3_SECRET_ACCESS_KEY", CONFIG_STRING, NULL, CONFIG_SECRET, s3.secret_key,
	    "S3 secret access key (else AWS_SECRET_ACCESS_KEY)"),
	OPT("REEL_S3_PATH_STYLE", CONFIG_BOOL, "0", 0, s3.path_style,
	    "address the bucket as host/bucket (MinIO, most self-hosted servers) instead of bucket.host"),
	OPT("REEL_S3_PUBLIC_ENDPOINT", CONFIG_STRING, NULL, 0, s3.public_endpoint,
	    "endpoint browsers use in presigned links (a CDN, the bucket's public name); else REEL_S3_ENDPOINT"),
	INT_OPT("REEL_S3_MULTIPART_MB", "64", s3.multipart_mb, 5, 5120,
		"uploads larger than this go to S3 in parts of this many MiB"),
	OPT("REEL_HTTP_ADDR", CONFIG_STRING, NULL, 0, http_addr, "health, metrics (and API) listen address"),
	OPT("REEL_PUBLIC_URL", CONFIG_STRING, "http://127.0.0.1:8081", 0, public_url, "webhook base vendors reach"),
	OPT("REEL_LOG_LEVEL", CONFIG_STRING, "info", 0, log_level, "debug, info, warn or error"),
	OPT("REEL_LOG_FILE", CONFIG_STRING, NULL, 0, log_file,
	    "append logs to this file (SIGHUP reopens it), else stderr"),
	INT_OPT("REEL_KAFKA_FETCH_WAIT_MS", "2", fetch_wait_ms, 0, 10000, "fetch.wait.max.ms of consumers"),
	INT_OPT("REEL_KAFKA_LINGER_MS", "0", linger_ms, 0, 1000, "linger.ms of producers"),
	INT_OPT("REEL_KAFKA_SESSION_TIMEOUT_MS", "45000", session_ms, 1000, 300000,
		"consumers' session.timeout.ms: how long a vanished worker keeps its partitions"),
	INT_OPT("REEL_SHUTDOWN_GRACE_S", "30", shutdown_grace_s, 0, 3600, "time to finish work on SIGTERM"),
	OPT("REEL_OFFLINE_SKIP_MEDIA", CONFIG_BOOL, "0", 0, skip_media,
	    "offline providers answer at once without media (benchmarks of the fleet itself)"),
	INT_OPT("REEL_HTTP_MAX_BODY", "0", http_max_body, 0, 1L << 30,
		"largest request body in bytes (413 beyond); 0 = the daemon's own default"),
	INT_OPT("REEL_HTTP_MAX_HEADER", "16384", http_max_header, 1024, 1L << 20,
		"largest request line plus headers in bytes (431 beyond)"),
	INT_OPT("REEL_HTTP_IDLE_TIMEOUT_S", "60", http_idle_s, 1, 3600,
		"keep-alive connections idle this long are closed"),
	INT_OPT("REEL_HTTP_REQUEST_TIMEOUT_S", "30", http_request_s, 1, 3600,
		"a request whose head and body take longer gets 408 and the connection is closed"),
	OPT("REEL_BILLING_FILE", CONFIG_STRING, NULL, 0, billing_file,
	    "JSON file of prices, plans, packs and check-in credits; unset = billing off, everything free"),
	INT_OPT("REEL_RESERVE_MARGIN", "20", reserve_margin_pct, 0, 1000,
		"percent added to a job's estimated credits when it is reserved at create"),
};

const size_t daemon_n_options = ARRAY_SIZE(daemon_options);

char *daemon_topic(const struct daemon *d, const char *stage)
{
	return xasprintf("%s%s", d->cfg.topic_prefix, stage);
}

static struct daemon *daemon_of(struct http_exchange *x, void *arg)
{
	(void)x;
	return arg;
}

static void on_healthz(struct http_exchange *x, void *arg)
{
	(void)arg;
	http_reply(x, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

static bool db_alive(struct daemon *d)
{
	static const char sql[] = "SELECT 1";
	if (!db_ok(d->db))
		return false;
	PGresult *r = db_exec(d->db, sql, 0, NULL);
	if (!r) {
		daemon_db_lost(d);
		return false;
	}
	PQclear(r);
	return true;
}

static void on_readyz(struct http_exchange *x, void *arg)
{
	struct daemon *d = daemon_of(x, arg);
	bool pg = db_alive(d), kafka = kafka_producer_ready(d->producer), ready = pg && kafka && !d->stopping;
	char body[160];
	int n = snprintf(body, sizeof(body), "{\"status\":\"%s\",\"postgres\":%s,\"kafka\":%s,\"stopping\":%s}",
			 ready ? "ready" : "not ready", pg ? "true" : "false", kafka ? "true" : "false",
			 d->stopping ? "true" : "false");
	http_reply(x, ready ? 200 : 503, "application/json", body, (size_t)n);
}

/* The outbox table's depth by topic: rows written and not yet acknowledged
 * by any daemon. Every daemon reports the same table; dashboards take max(). */
static void count_outbox_rows(struct daemon *d)
{
	static const char sql[] = "SELECT t, count(o.id) FROM unnest($1::text[]) AS t "
				  "LEFT JOIN outbox o ON o.topic = t GROUP BY t";
	static const char *const stages[] = { "parse", "render", "tts", "merge" };
	const char *names[ARRAY_SIZE(stages)];
	char *topics[ARRAY_SIZE(stages)];
	if (!db_ok(d->db))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(stages); i++)
		names[i] = topics[i] = daemon_topic(d, stages[i]);
	char *arr = db_text_array(names, ARRAY_SIZE(names));
	const char *params[] = { arr };
	PGresult *r = db_exec(d->db, sql, 1, params);
	for (int i = 0; r && i < PQntuples(r); i++) {
		char labels[160], topic[128];
		metrics_label_value(topic, sizeof(topic), PQgetvalue(r, i, 0));
		snprintf(labels, sizeof(labels), "topic=\"%s\"", topic);
		metrics_set(metrics_gauge("reel_outbox_rows", "Outbox rows written and not yet acknowledged, by topic",
					  labels),
			    atof(PQgetvalue(r, i, 1)));
	}
	PQclear(r);
	free(arr);
	for (size_t i = 0; i < ARRAY_SIZE(stages); i++)
		free(topics[i]);
}

static void on_metrics(struct http_exchange *x, void *arg)
{
	struct daemon *d = daemon_of(x, arg);
	metrics_set(metrics_gauge("reel_outbox_in_flight", "Outbox messages handed to Kafka, not yet acknowledged", ""),
		    (double)outbox_in_flight(d->outbox));
	count_outbox_rows(d);
	char *text = metrics_render();
	http_reply(x, 200, "text/plain; version=0.0.4", text, strlen(text));
	free(text);
}

static const struct http_route health_routes[] = {
	{ "GET", "/healthz", on_healthz },
	{ "GET", "/readyz", on_readyz },
	{ "GET", "/metrics", on_metrics },
};

static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	if (d->stopping) {
		log_warn("second signal %d: exiting at once", signum);
		_exit(1);
	}
	d->stopping = true;
	log_info("signal %d: finishing in-flight work, then stopping", signum);
	if (d->on_stop)
		d->on_stop(d);
	else
		daemon_shutdown(d);
}

static void on_hangup(uv_signal_t *h, int signum)
{
	(void)h;
	(void)signum;
	if (log_reopen() < 0)
		log_error("SIGHUP: cannot reopen the log file: %s", strerror(errno));
	else
		log_info("SIGHUP: log file reopened");
}

static void on_reconnect(uv_timer_t *t)
{
	struct daemon *d = t->data;
	if (db_reconnect(d->db) == 0) {
		d->reconnect_delay_ms = 0;
		return;
	}
	d->reconnect_delay_ms = d->reconnect_delay_ms ? d->reconnect_delay_ms * 2 : 100;
	if (d->reconnect_delay_ms > 5000)
		d->reconnect_delay_ms = 5000;
	uv_timer_start(&d->reconnect_timer, on_reconnect, d->reconnect_delay_ms, 0);
}

void daemon_db_lost(struct daemon *d)
{
	if (db_ok(d->db) || uv_is_active((uv_handle_t *)&d->reconnect_timer))
		return;
	log_warn("lost the PostgreSQL connection; reconnecting");
	uv_timer_start(&d->reconnect_timer, on_reconnect, 100, 0);
}

static int load_config(struct daemon *d, const struct daemon_spec *spec, char *err, size_t errlen)
{
	enum log_level level;
	if (config_load(daemon_options, daemon_n_options, &d->cfg, err, errlen) < 0)
		return -1;
	if (!d->cfg.http_addr)
		d->cfg.http_addr = xstrdup(spec->default_http_addr);
	if (log_parse_level(d->cfg.log_level, &level) < 0)
		return errbuf_set(err, errlen, "REEL_LOG_LEVEL=%s: use debug, info, warn or error", d->cfg.log_level);
	log_set_level(level);
	if (log_open_file(d->cfg.log_file) < 0)
		return errbuf_set(err, errlen, "REEL_LOG_FILE=%s: cannot open it: %s", d->cfg.log_file,
				  strerror(errno));
	if (spec->options && config_load(spec->options, spec->n_options, spec->config, err, errlen) < 0)
		return -1;
	if (d->cfg.billing_file &&
	    !(d->billing = billing_load(d->cfg.billing_file, d->cfg.reserve_margin_pct, err, errlen)))
		return -1;
	config_log(daemon_options, daemon_n_options, &d->cfg);
	if (spec->options)
		config_log(spec->options, spec->n_options, spec->config);
	return 0;
}

static int connect_services(struct daemon *d, char *err, size_t errlen)
{
	static const char *const stages[] = { "parse", "render", "tts", "merge", "events", "dlq" };
	const struct kafka_settings ks = { d->cfg.kafka_brokers, d->cfg.kafka_extra, d->cfg.fetch_wait_ms,
					   d->cfg.linger_ms,     d->cfg.session_ms,  d->name };
	char *topics[ARRAY_SIZE(stages) + 1] = { 0 };

	if (!(d->storage = storage_open(d->cfg.storage_url, &d->cfg.s3, err, errlen)))
		return -1;
	if (!(d->db = db_open(d->cfg.database_url, err, errlen)))
		return -1;
	if (db_check_schema(d->db, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(stages); i++)
		topics[i] = daemon_topic(d, stages[i]);
	d->producer = kafka_producer_new(d->loop, &ks, (const char *const *)topics, err, errlen);
	for (size_t i = 0; i < ARRAY_SIZE(stages); i++)
		free(topics[i]);
	if (!d->producer)
		return -1;
	d->outbox = outbox_new(d->loop, d->db, d->producer, d->cfg.topic_prefix);
	d->events = events_new();
	outbox_start_relay(d->outbox, 2000, 10000);
	return 0;
}

static int start_http(struct daemon *d, const struct daemon_spec *spec, char *err, size_t errlen)
{
	size_t n = ARRAY_SIZE(health_routes) + spec->n_routes;
	d->routes = xmalloc(n * sizeof(*d->routes));
	memcpy(d->routes, health_routes, sizeof(health_routes));
	if (spec->n_routes)
		memcpy(d->routes + ARRAY_SIZE(health_routes), spec->routes, spec->n_routes * sizeof(*d->routes));
	size_t body = d->cfg.http_max_body ? (size_t)d->cfg.http_max_body : spec->max_body ? spec->max_body : 64 * 1024;
	const struct http_server_opts opts = { body,
					       (size_t)d->cfg.http_max_header,
					       (unsigned)d->cfg.http_idle_s * 1000,
					       (unsigned)d->cfg.http_request_s * 1000,
					       spec->http_before,
					       spec->http_body_file };
	d->http = http_server_new(d->loop, d->cfg.http_addr, d->routes, n, d, &opts, err, errlen);
	return d->http ? 0 : -1;
}

int daemon_start(struct daemon *d, const struct daemon_spec *spec, char *err, size_t errlen)
{
	d->name = spec->name;
	d->spec = spec;
	d->loop = uv_default_loop();
	log_init(spec->name);
	if (load_config(d, spec, err, errlen) < 0 || (spec->configure && spec->configure(d, err, errlen) < 0) ||
	    connect_services(d, err, errlen) < 0 || start_http(d, spec, err, errlen) < 0)
		return -1;
	uv_timer_init(d->loop, &d->reconnect_timer);
	d->reconnect_timer.data = d;
	uv_signal_init(d->loop, &d->sig_term);
	uv_signal_init(d->loop, &d->sig_int);
	uv_signal_init(d->loop, &d->sig_hup);
	d->sig_term.data = d->sig_int.data = d;
	uv_signal_start(&d->sig_hup, on_hangup, SIGHUP);
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
	log_info("%s started; serving %s on port %d", spec->name, d->cfg.http_addr, http_server_port(d->http));
	return 0;
}

int daemon_run(struct daemon *d)
{
	uv_run(d->loop, UV_RUN_DEFAULT);
	log_info("%s stopped", d->name);
	return 0;
}

int daemon_commit(struct daemon *d)
{
	struct db_stmt stmts[3] = { 0 };
	size_t n = (size_t)events_statement(d->events, &stmts[0]), k;
	k = outbox_statements(d->outbox, stmts + n);
	/* One round trip for the events, the outbox and COMMIT. */
	if (db_pipeline_commit(d->db, stmts, n + k) < 0) {
		daemon_rollback(d);
		return -1;
	}
	events_written(d->events, n ? stmts[0].result : NULL, d->outbox);
	outbox_written(d->outbox, stmts + n, k);
	for (size_t i = 0; i < n + k; i++)
		PQclear(stmts[i].result);
	return 0;
}

void daemon_rollback(struct daemon *d)
{
	db_rollback(d->db);
	events_discard(d->events);
	outbox_discard(d->outbox);
	if (!db_ok(d->db))
		daemon_db_lost(d);
}

void daemon_shutdown(struct daemon *d)
{
	http_server_free(d->http);
	d->http = NULL;
	outbox_free(d->outbox);
	d->outbox = NULL;
	kafka_producer_free(d->producer);
	d->producer = NULL;
	uv_close((uv_handle_t *)&d->reconnect_timer, NULL);
	uv_close((uv_handle_t *)&d->sig_term, NULL);
	uv_close((uv_handle_t *)&d->sig_int, NULL);
	uv_close((uv_handle_t *)&d->sig_hup, NULL);
}

void daemon_release(struct daemon *d)
{
	free(d->routes);
	events_free(d->events);
	db_free(d->db);
	storage_free(d->storage);
	billing_free(d->billing);
	if (d->spec->options)
		config_release(d->spec->options, d->spec->n_options, d->spec->config);
	config_release(daemon_options, daemon_n_options, &d->cfg);
	uv_loop_close(d->loop);
}

int daemon_main(const struct daemon_spec *spec, void *app, void (*on_started)(struct daemon *d))
{
	static struct daemon d;
	char err[1024];
	int rc;

	d.app = app;
	if (daemon_start(&d, spec, err, sizeof(err)) < 0) {
		log_error("cannot start: %s", err);
		fprintf(stderr, "%s: %s\n", spec->name, err);
		return 2;
	}
	if (on_started)
		on_started(&d);
	rc = daemon_run(&d);
	daemon_release(&d);
	return rc;
}
