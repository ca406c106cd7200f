/*
 * DESIGN: a daemon's loop owns one synchronous libpq connection. Statements
 * run on loopback in well under a millisecond, and the worker groups a whole
 * batch of messages into one transaction, so a blocking round trip costs the
 * loop less than the bookkeeping an asynchronous client would add. Each SQL
 * text is prepared once per connection (a small table keyed by the text's
 * address); a lost connection clears the table and is restored by
 * db_reconnect, which the callers schedule with backoff.
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "log.h"
#include "banned.h"

#define MAX_PREPARED 128

struct db {
	PGconn *conn;
	char *conninfo;
	const char *prepared[MAX_PREPARED]; /* SQL texts prepared on this connection */
	size_t n_prepared;
	char last_error[512];
	bool last_was_connection;
	bool in_tx;
};

/* Notices (e.g. "relation already exists, skipping") are not errors; drop them. */
static void quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static PGconn *connect_to(const char *conninfo, char *err, size_t errlen)
{
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		errbuf_set(err, errlen, "cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet_notice, NULL);
	/* Every statement of ours reaches rows by key, mostly by joining a
	 * small unnest() batch to a big table through its primary key. Prepared
	 * statements get a generic plan after five runs, and one made while a
	 * table was still small would keep scanning it whole as it grows.
	 * Ruling out whole-table scans and hash or merge joins keeps every
	 * cached plan an index lookup at any table size, and saves planning
	 * each execution afresh (a third of the database's work otherwise). */
	PQclear(PQexec(c, "SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off"));
	return c;
}

struct db *db_open(const char *conninfo, char *err, size_t errlen)
{
	PGconn *c = connect_to(conninfo, err, errlen);
	struct db *db;
	if (!c)
		return NULL;
	db = xcalloc(1, sizeof(*db));
	db->conn = c;
	db->conninfo = xstrdup(conninfo);
	return db;
}

void db_free(struct db *db)
{
	if (!db)
		return;
	PQfinish(db->conn);
	free(db->conninfo);
	free(db);
}

bool db_ok(struct db *db)
{
	return db->conn && PQstatus(db->conn) == CONNECTION_OK;
}

int db_reconnect(struct db *db)
{
	char err[512];
	PGconn *c = connect_to(db->conninfo, err, sizeof(err));
	if (!c)
		return log_error("%s", err);
	PQfinish(db->conn);
	db->conn = c;
	db->n_prepared = 0;
	db->in_tx = false;
	log_info("reconnected to PostgreSQL");
	return 0;
}

PGconn *db_conn(struct db *db)
{
	return db->conn;
}

static void record_error(struct db *db, const char *what)
{
	db->last_was_connection = PQstatus(db->conn) != CONNECTION_OK;
	snprintf(db->last_error, sizeof(db->last_error), "%s", what);
	size_t n = strlen(db->last_error);
	while (n && (db->last_error[n - 1] == '\n' || db->last_error[n - 1] == ' '))
		db->last_error[--n] = '\0';
}

/* The statement name for sql, preparing it on this connection if needed. */
static int statement_name(struct db *db, const char *sql, int nparams, char *name, size_t namelen)
{
	size_t i;
	for (i = 0; i < db->n_prepared; i++)
		if (db->prepared[i] == sql)
			break;
	snprintf(name, namelen, "s%zu", i);
	if (i < db->n_prepared)
		return 0;
	if (i == MAX_PREPARED)
		return name[0] = '\0', 0; /* table full: run unprepared */
	PGresult *r = PQprepare(db->conn, name, sql, nparams, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		record_error(db, PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	db->prepared[db->n_prepared++] = sql;
	return 0;
}

PGresult *db_exec(struct db *db, const char *sql, int nparams, const char *const *params)
{
	char name[16];
	PGresult *r;
	ExecStatusType st;

	if (statement_name(db, sql, nparams, name, sizeof(name)) < 0) {
		log_error("database: %s", db->last_error);
		return NULL;
	}
	if (name[0])
		r = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
	else
		r = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	record_error(db, r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
	PQclear(r);
	log_error("database: %s", db->last_error);
	return NULL;
}

int db_run(struct db *db, const char *sql, int nparams, const char *const *params)
{
	PGresult *r = db_exec(db, sql, nparams, params);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

long db_affected(PGresult *res)
{
	return atol(PQcmdTuples(res));
}

const char *db_last_error(const struct db *db)
{
	return db->last_error;
}

bool db_last_error_is_connection(const struct db *db)
{
	return db->last_was_connection;
}

char *db_text_array(const char *const *items, size_t n)
{
	size_t cap = 3, len = 0;
	for (size_t i = 0; i < n; i++)
		cap += 5 + (items[i] ? 2 * strlen(items[i]) : 0);
	char *out = xmalloc(cap);
	out[len++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			out[len++] = ',';
		if (!items[i]) {
			memcpy(out + len, "NULL", 4);
			len += 4;
			continue;
		}
		out[len++] = '"';
		for (const char *c = items[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				out[len++] = '\\';
			out[len++] = *c;
		}
		out[len++] = '"';
	}
	out[len++] = '}';
	out[len] = '\0';
	return out;
}

char *db_int_array(const int64_t *items, size_t n)
{
	size_t cap = 3 + n * 21, len = 1;
	char *out = xmalloc(cap);
	out[0] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%lld", i ? "," : "", (long long)items[i]);
	snprintf(out + len, cap - len, "}");
	return out;
}

/* After a failed pipeline the server has already aborted the transaction (or
 * it never committed); a ROLLBACK makes sure nothing is left open. */
static void simple_rollback(struct db *db)
{
	if (db_ok(db))
		PQclear(PQexec(db->conn, "ROLLBACK"));
}

/* Collects one pipelined query's result: its PGresult, then the NULL that ends it. */
static PGresult *next_result(struct db *db, bool *ok)
{
	PGresult *r = PQgetResult(db->conn), *end;
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		if (*ok)
			record_error(db, r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
		*ok = false;
	}
	while ((end = PQgetResult(db->conn)))
		PQclear(end);
	return r;
}

static void clear_results(struct db_stmt *stmts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		PQclear(stmts[i].result);
		stmts[i].result = NULL;
	}
}

int db_pipeline_commit(struct db *db, struct db_stmt *stmts, size_t n)
{
	char name[16];
	bool ok = true;
	PGresult *r;

	/* Statements are prepared outside the pipeline, the first time only. */
	for (size_t i = 0; i < n; i++)
		if (statement_name(db, stmts[i].sql, stmts[i].nparams, name, sizeof(name)) < 0 || !name[0])
			return log_error("database: cannot prepare a pipelined statement: %s", db->last_error);
	if (!PQenterPipelineMode(db->conn))
		return log_error("database: cannot enter pipeline mode: %s", PQerrorMessage(db->conn));
	for (size_t i = 0; i < n && ok; i++) {
		(void)statement_name(db, stmts[i].sql, stmts[i].nparams, name, sizeof(name));
		ok = PQsendQueryPrepared(db->conn, name, stmts[i].nparams, stmts[i].params, NULL, NULL, 0) == 1;
	}
	ok = ok && PQsendQueryParams(db->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1 &&
	     PQpipelineSync(db->conn) == 1;
	if (!ok) {
		record_error(db, PQerrorMessage(db->conn));
		PQexitPipelineMode(db->conn);
		return log_error("database: %s", db->last_error);
	}
	for (size_t i = 0; i < n; i++)
		stmts[i].result = next_result(db, &ok);
	PQclear(next_result(db, &ok)); /* COMMIT */
	r = PQgetResult(db->conn);     /* the sync point */
	PQclear(r);
	PQexitPipelineMode(db->conn);
	db->in_tx = false;
	if (ok)
		return 0;
	clear_results(stmts, n);
	log_error("database: %s", db->last_error);
	simple_rollback(db);
	return -1;
}

static int simple(struct db *db, const char *sql)
{
	PGresult *r = PQexec(db->conn, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) {
		record_error(db, r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
		log_error("database: %s: %s", sql, db->last_error);
	}
	PQclear(r);
	return ok ? 0 : -1;
}

int db_begin(struct db *db)
{
	if (simple(db, "BEGIN") < 0)
		return -1;
	db->in_tx = true;
	return 0;
}

void db_rollback(struct db *db)
{
	db->in_tx = false;
	if (db_ok(db))
		(void)simple(db, "ROLLBACK");
}

int db_check_schema(struct db *db, char *err, size_t errlen)
{
	static const char sql[] = "SELECT coalesce(max(version), 0) FROM schema_migrations";
	PGresult *r = PQexec(db->conn, sql);
	long have;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		errbuf_set(err, errlen, "database has no reelforge schema (run the migrations): %s",
			   PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	have = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (have < DB_SCHEMA_VERSION)
		return errbuf_set(err, errlen,
				  "database schema is at version %ld but this build needs %d: run the migrations", have,
				  DB_SCHEMA_VERSION);
	return 0;
}
