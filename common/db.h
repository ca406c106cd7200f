/*
 * PostgreSQL access for a daemon: one connection, parameterised statements
 * prepared once per connection, transactions, and reconnection with backoff
 * when the server goes away. Statements are identified by their SQL text's
 * address, so callers keep their SQL in static strings.
 */
#ifndef REEL_DB_H
#define REEL_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The schema version this build needs; daemons refuse older databases. */
#define DB_SCHEMA_VERSION 17

struct db; /* owned by its opener; db_free releases it */

/* Connects with a libpq conninfo or URL. NULL with err on failure. */
struct db *db_open(const char *conninfo, char *err, size_t errlen);
void db_free(struct db *db);
/* True while the connection is usable; db_reconnect tries once to restore it. */
bool db_ok(struct db *db);
int db_reconnect(struct db *db) WARN_UNUSED;
/* The raw connection, for LISTEN and socket watching. */
PGconn *db_conn(struct db *db);

/* Runs a prepared statement (prepared on first use). Parameters are text, NULL
 * meaning SQL NULL. Returns the result for PGRES_TUPLES_OK / PGRES_COMMAND_OK,
 * which the caller PQclear()s, or NULL after logging the error. */
PGresult *db_exec(struct db *db, const char *sql, int nparams, const char *const *params);
/* db_exec for statements whose rows are not needed; 0 or -1. */
int db_run(struct db *db, const char *sql, int nparams, const char *const *params) WARN_UNUSED;
/* The number of rows a command changed, as PQcmdTuples says. */
long db_affected(PGresult *res);
/* The last error's text (for messages to users and logs). */
const char *db_last_error(const struct db *db);
/* True when the last failure was a lost connection rather than a bad statement. */
bool db_last_error_is_connection(const struct db *db);

/* A PostgreSQL array literal of texts ({"a",NULL}), escaped, NULL items as SQL NULL; the caller frees. */
char *db_text_array(const char *const *items, size_t n);
/* A PostgreSQL array literal of integers ({1,2}); the caller frees. */
char *db_int_array(const int64_t *items, size_t n);

/* One statement of a pipelined tail; params point at memory its owner keeps
 * until the pipeline returned. */
struct db_stmt {
	const char *sql; /* static text, prepared once per connection */
	int nparams;
	const char *params[4];
	PGresult *result; /* set by db_pipeline_commit on success; the caller PQclears */
};

/* Runs stmts and then COMMIT in one round trip (libpq pipeline mode), the
 * usual end of a transaction. 0 when every statement succeeded and the
 * transaction committed; -1 otherwise, with the transaction rolled back and
 * no results kept. */
int db_pipeline_commit(struct db *db, struct db_stmt *stmts, size_t n) WARN_UNUSED;

int db_begin(struct db *db) WARN_UNUSED;
void db_rollback(struct db *db);

/* -1 with err when schema_migrations is older than DB_SCHEMA_VERSION. */
int db_check_schema(struct db *db, char *err, size_t errlen) WARN_UNUSED;

#endif
