/*
 * Unit tests for the worker loop's phases (common/worker.c, and through it
 * kafka.c, db.c, outbox.c and reconcile.c) with a fake stage: a message is
 * claimed, handled, its result emitted to the next topic and its offset
 * committed; a handler failure is retried through the database and then
 * recorded as failed; a redelivered message whose job is done is not handled
 * again. The stage is "parse" (the reconciler knows only pipeline stages) but
 * its handler is the test's. PostgreSQL is a real cluster started by
 * deploy/fleet.sh pg-start on REEL_TEST_PG_PORT; Kafka is librdkafka's mock
 * cluster, one per test (each test runs forked, with the worker in a thread:
 * worker_main runs once per process).
 */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "envelope.h"
#include "file.h"
#include "metrics.h"
#include "migrate.h"
#include "str.h"
#include "worker.h"
#include "banned.h"

#define WAIT_MS 30000
#define MAX_JOBS 8

static char db_url[256];

/* The fake handler's calls per job, read by the test thread. */
static pthread_mutex_t calls_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char job[ENVELOPE_ID_MAX];
	int n;
} calls[MAX_JOBS];

static void count_call(const char *job)
{
	pthread_mutex_lock(&calls_lock);
	int i = 0;
	while (i < MAX_JOBS - 1 && calls[i].job[0] && strcmp(calls[i].job, job) != 0)
		i++;
	str_copy(calls[i].job, job, sizeof(calls[i].job));
	calls[i].n++;
	pthread_mutex_unlock(&calls_lock);
}

static int calls_of(const char *job)
{
	int n = 0;
	pthread_mutex_lock(&calls_lock);
	for (int i = 0; i < MAX_JOBS; i++)
		if (strcmp(calls[i].job, job) == 0)
			n = calls[i].n;
	pthread_mutex_unlock(&calls_lock);
	return n;
}

/* ---- the fake stage: jobs whose template is "fail" fail transiently every time ---- */

static int take_row(struct worker *w, struct task *t, PGresult *r, int row)
{
	(void)w;
	t->data = strcmp(PQgetvalue(r, row, 1), "fail") == 0 ? (void *)1 : NULL;
	t->claim = CLAIM_WORK;
	return 0;
}

static int fake_claim(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] = "UPDATE jobs j SET status = 'parsing', updated_at = now() "
				  "FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n) "
				  "WHERE j.id = u.id AND j.status IN ('queued', 'parsing') RETURNING u.n, j.template";
	return worker_claim_rows(w, worker_query_tasks(w, sql, tasks, n, false, NULL, 0), tasks, n, take_row);
}

static void fake_work(struct task *t)
{
	count_call(t->env.job);
	if (t->data) {
		worker_task_fail(t, "fake_down", "the fake vendor is down");
		t->result = WORK_RETRY;
	}
}

static int fake_commit(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] = "UPDATE jobs j SET status = 'review', updated_at = now() "
				  "FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n) WHERE j.id = u.id";
	PGresult *r = worker_query_tasks(w, sql, tasks, n, false, NULL, 0);
	if (!r)
		return -1;
	PQclear(r);
	for (size_t i = 0; i < n; i++)
		worker_emit(w, tasks[i], "tts", -1);
	return 0;
}

static int fake_fail(struct worker *w, struct task *t)
{
	static const char sql[] = "UPDATE jobs SET status = 'failed', error = jsonb_build_object('code', $2::text), "
				  "updated_at = now() WHERE id = $1::uuid";
	const char *params[] = { t->env.job, t->error_code };
	return db_run(worker_db(w), sql, 2, params);
}

static void fake_release(struct task *t)
{
	t->data = NULL;
}

static const struct stage_ops fake_ops = {
	.claim = fake_claim,
	.work = fake_work,
	.commit = fake_commit,
	.fail = fake_fail,
	.release = fake_release,
};
static const struct worker_spec fake_spec = {
	.name = "fake-worker",
	.stage = "parse",
	.default_http_addr = "127.0.0.1:0",
	.default_concurrency = 2,
	.ops = &fake_ops,
};

/* ---- the test's side: the mock cluster, the worker thread, PostgreSQL ---- */

struct fixture {
	rd_kafka_t *mock_rk; /* hosts the mock cluster */
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_t *producer;
	pthread_t worker;
	struct db *db;
};

static void *run_worker(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)worker_main(0, NULL, &fake_spec);
}

static rd_kafka_conf_t *conf_with(const char *k1, const char *v1, const char *k2, const char *v2)
{
	char err[256];
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	ck_assert(rd_kafka_conf_set(c, k1, v1, err, sizeof(err)) == RD_KAFKA_CONF_OK);
	if (k2)
		ck_assert(rd_kafka_conf_set(c, k2, v2, err, sizeof(err)) == RD_KAFKA_CONF_OK);
	return c;
}

static void fixture_start(struct fixture *f)
{
	char err[256], addr[32];
	/* The mock cluster's host handle has no broker of its own to name. */
	f->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf_with("log_level", "4", NULL, NULL), err, sizeof(err));
	ck_assert_msg(f->mock_rk, "%s", err);
	rd_kafka_mock_cluster_t *mc = f->mc = rd_kafka_mock_cluster_new(f->mock_rk, 1);
	ck_assert(mc);
	/* One partition each, so the test knows where its messages are. */
	ck_assert(rd_kafka_mock_topic_create(mc, "reel.parse", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert(rd_kafka_mock_topic_create(mc, "reel.tts", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
	const char *brokers = rd_kafka_mock_cluster_bootstraps(mc);
	f->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf_with("bootstrap.servers", brokers, NULL, NULL), err,
				   sizeof(err));
	ck_assert_msg(f->producer, "%s", err);
	const char *offset = getenv("REEL_TEST_PORT_OFFSET");
	char *dir = file_exe_relative("worker-storage"), *storage = xasprintf("file://%s", dir);
	mkdir(dir, 0755);
	free(dir);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", 8099 + (offset ? atoi(offset) : 0));
	setenv("REEL_DATABASE_URL", db_url, 1);
	setenv("REEL_KAFKA_BROKERS", brokers, 1);
	setenv("REEL_STORAGE_URL", storage, 1);
	setenv("REEL_HTTP_ADDR", addr, 1);
	setenv("REEL_PARSE_MAX_ATTEMPTS", "2", 1);
	setenv("REEL_RECONCILE_INTERVAL_MS", "100", 1);
	setenv("REEL_SHUTDOWN_GRACE_S", "5", 1);
	setenv("REEL_LOG_LEVEL", "warn", 1);
	free(storage);
	f->db = db_open(db_url, err, sizeof(err));
	ck_assert_msg(f->db, "%s", err);
	ck_assert(pthread_create(&f->worker, NULL, run_worker, NULL) == 0);
}

/* SIGTERM drains the worker (its offsets are committed on close); it must exit 0. */
static void fixture_stop(struct fixture *f)
{
	void *rc;
	kill(getpid(), SIGTERM);
	ck_assert(pthread_join(f->worker, &rc) == 0);
	ck_assert_int_eq((int)(intptr_t)rc, 0);
}

static void fixture_free(struct fixture *f)
{
	db_free(f->db);
	rd_kafka_destroy(f->producer);
	rd_kafka_mock_cluster_destroy(f->mc);
	rd_kafka_destroy(f->mock_rk);
}

/* A new job row; template "fail" makes the fake handler fail. Returns its id. */
static void new_job(struct fixture *f, const char *template, char id[ENVELOPE_ID_MAX])
{
	static const char sql[] = "INSERT INTO jobs (owner, template, input, trace) "
				  "VALUES ('unit', $1, '{}', 'trace-unit') RETURNING id";
	const char *params[] = { template };
	PGresult *r = db_exec(f->db, sql, 1, params);
	ck_assert_msg(r && PQntuples(r) == 1, "%s", db_last_error(f->db));
	str_copy(id, PQgetvalue(r, 0, 0), ENVELOPE_ID_MAX);
	PQclear(r);
}

static void produce(struct fixture *f, const char *job)
{
	struct envelope env = { .shot = -1, .attempt = 1 };
	char value[256];
	str_copy(env.job, job, sizeof(env.job));
	str_copy(env.trace, "trace-unit", sizeof(env.trace));
	ck_assert(envelope_encode(&env, value, sizeof(value)) > 0);
	ck_assert(rd_kafka_producev(f->producer, RD_KAFKA_V_TOPIC("reel.parse"), RD_KAFKA_V_PARTITION(0),
				    RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				    RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
	ck_assert(rd_kafka_flush(f->producer, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void job_status(struct fixture *f, const char *job, char *out, size_t outlen)
{
	const char *params[] = { job };
	PGresult *r = db_exec(f->db, "SELECT status FROM jobs WHERE id = $1::uuid", 1, params);
	ck_assert(r && PQntuples(r) == 1);
	str_copy(out, PQgetvalue(r, 0, 0), outlen);
	PQclear(r);
}

static void wait_status(struct fixture *f, const char *job, const char *want)
{
	char status[32] = "";
	for (int waited = 0; waited < WAIT_MS; waited += 50) {
		job_status(f, job, status, sizeof(status));
		if (strcmp(status, want) == 0)
			return;
		usleep(50 * 1000);
	}
	ck_abort_msg("job %s is %s after %d ms, want %s", job, status, WAIT_MS, want);
}

/* The worker's reel_messages_done_total{stage="parse"}, from the process's metrics. */
static long messages_done(void)
{
	char *text = metrics_render();
	const char *p = strstr(text, "reel_messages_done_total{stage=\"parse\"} ");
	long n = p ? atol(p + strlen("reel_messages_done_total{stage=\"parse\"} ")) : 0;
	free(text);
	return n;
}

static void wait_done(long want)
{
	for (int waited = 0; waited < WAIT_MS && messages_done() < want; waited += 50)
		usleep(50 * 1000);
	ck_assert_int_eq(messages_done(), want);
}

/* The next message on reel.tts read from the start: its envelope. */
static void consume_next(struct envelope *env)
{
	char err[256];
	rd_kafka_conf_t *c = conf_with("bootstrap.servers", getenv("REEL_KAFKA_BROKERS"), "group.id", "unit-reader");
	ck_assert(rd_kafka_conf_set(c, "auto.offset.reset", "earliest", err, sizeof(err)) == RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
	ck_assert_msg(rk, "%s", err);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, "reel.tts", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	ck_assert(rd_kafka_assign(rk, parts) == RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_message_t *m = NULL;
	for (int waited = 0; waited < WAIT_MS && !m; waited += 100) {
		m = rd_kafka_consumer_poll(rk, 100);
		if (m && m->err) {
			rd_kafka_message_destroy(m);
			m = NULL;
		}
	}
	ck_assert_msg(m, "nothing on reel.tts after %d ms", WAIT_MS);
	ck_assert(envelope_decode(m->payload, m->len, env, err, sizeof(err)) == 0);
	rd_kafka_message_destroy(m);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

/* The offset group reel-parse committed on reel.parse partition 0. */
static int64_t committed_offset(void)
{
	char err[256];
	rd_kafka_conf_t *c = conf_with("bootstrap.servers", getenv("REEL_KAFKA_BROKERS"), "group.id", "reel-parse");
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
	ck_assert_msg(rk, "%s", err);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, "reel.parse", 0);
	ck_assert(rd_kafka_committed(rk, parts, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
	int64_t off = parts->elems[0].offset;
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_destroy(rk);
	return off;
}

/* A new job of template sent to the worker, waited for until it is status. */
static void job_through(struct fixture *f, const char *template, const char *status, char job[ENVELOPE_ID_MAX])
{
	new_job(f, template, job);
	produce(f, job);
	wait_status(f, job, status);
}

START_TEST(test_claimed_handled_emitted_committed)
{
	struct fixture f;
	struct envelope next;
	char job[ENVELOPE_ID_MAX];
	fixture_start(&f);
	job_through(&f, "ok", "review", job);
	consume_next(&next);
	ck_assert_str_eq(next.job, job);
	ck_assert_int_eq(next.shot, -1);
	ck_assert_str_eq(next.trace, "trace-unit");
	wait_done(1);
	ck_assert_int_eq(calls_of(job), 1);
	fixture_stop(&f);
	ck_assert_int_eq(committed_offset(), 1);
	fixture_free(&f);
}
END_TEST

START_TEST(test_failure_retried_then_failed)
{
	struct fixture f;
	char job[ENVELOPE_ID_MAX];
	fixture_start(&f);
	job_through(&f, "fail", "failed", job);
	/* REEL_PARSE_MAX_ATTEMPTS=2: the first attempt's retry came back through
	 * retry_at and the reconciler, the second gave up. */
	ck_assert_int_eq(calls_of(job), 2);
	const char *params[] = { job };
	PGresult *r = db_exec(f.db, "SELECT error->>'code', retry_at IS NULL FROM jobs WHERE id = $1::uuid", 1, params);
	ck_assert(r && PQntuples(r) == 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "fake_down");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "t");
	PQclear(r);
	fixture_stop(&f);
	fixture_free(&f);
}
END_TEST

START_TEST(test_redelivered_done_not_handled_twice)
{
	struct fixture f;
	char job[ENVELOPE_ID_MAX];
	fixture_start(&f);
	job_through(&f, "ok", "review", job);
	wait_done(1);
	produce(&f, job); /* as a broker redelivers after a lost commit */
	wait_done(2);
	ck_assert_int_eq(calls_of(job), 1);
	fixture_stop(&f);
	ck_assert_int_eq(committed_offset(), 2);
	fixture_free(&f);
}
END_TEST

static Suite *worker_suite(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("phases");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_claimed_handled_emitted_committed);
	tcase_add_test(tc, test_failure_retried_then_failed);
	tcase_add_test(tc, test_redelivered_done_not_handled_twice);
	suite_add_tcase(s, tc);
	return s;
}

/* fleet.sh pg-start or pg-stop for this binary's cluster (beside it, on
 * REEL_TEST_PG_PORT); pg-start's last line is the URL. */
static int fleet_pg(const char *verb, char *url, size_t urllen)
{
	char *fleet = file_exe_relative("../../../deploy/fleet.sh"), *run = file_exe_relative("pg-test_worker");
	const char *port = getenv("REEL_TEST_PG_PORT");
	char *cmd = xasprintf("REEL_RUN_DIR='%s' REEL_PG_PORT='%s' bash '%s' %s", run, port ? port : "", fleet, verb);
	FILE *p = popen(cmd, "r");
	char line[256] = "";
	while (p && fgets(line, sizeof(line), p))
		if (url)
			str_copy(url, line, urllen);
	int rc = p ? pclose(p) : -1;
	free(cmd);
	free(fleet);
	free(run);
	if (url)
		url[strcspn(url, "\n")] = '\0';
	return rc == 0 ? 0 : -1;
}

/* A clean schema at the current migrations in the test's cluster. */
static int fresh_schema(void)
{
	char err[512], *migrations = file_exe_relative("../../../deploy/migrations");
	struct db *db = db_open(db_url, err, sizeof(err));
	int rc = db && db_run(db, "DROP SCHEMA public CASCADE", 0, NULL) == 0 &&
				 db_run(db, "CREATE SCHEMA public", 0, NULL) == 0 &&
				 migrate_apply(db, migrations, err, sizeof(err)) >= 0
			 ? 0
			 : -1;
	free(migrations);
	if (rc < 0)
		fprintf(stderr, "test_worker: cannot prepare the schema: %s\n", db ? db_last_error(db) : err);
	db_free(db);
	return rc;
}

int main(void)
{
	if (!getenv("REEL_TEST_PG_PORT")) {
		fprintf(stderr, "test_worker: REEL_TEST_PG_PORT must name the test PostgreSQL's port\n");
		return 1;
	}
	if (fleet_pg("pg-start", db_url, sizeof(db_url)) < 0 || fresh_schema() < 0) {
		fprintf(stderr, "test_worker: no PostgreSQL for the test\n");
		fleet_pg("pg-stop", NULL, 0);
		return 1;
	}
	SRunner *sr = srunner_create(worker_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fleet_pg("pg-stop", NULL, 0);
	return failed ? 1 : 0;
}
