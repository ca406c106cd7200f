/*
 * Applies deploy/migrations/NNN_*.sql. The version is the file's number.
 */
#include "migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "errbuf.h"
#include "log.h"
#include "str.h"
#include "banned.h"

/* Any constant will do, as long as every reelforge process uses the same one. */
#define MIGRATE_LOCK_KEY "7265656c666f7267"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted migration file names in dir; the caller frees each and the array. */
static size_t list_files(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len > 8 && e->d_name[0] >= '0' && e->d_name[0] <= '9' && strcmp(e->d_name + len - 4, ".sql") == 0) {
			names = xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = xstrdup(e->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	*out = names;
	return n;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)len + 1);
	if (len < 0 || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static int exec_script(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = errbuf_set(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return rc;
}

static int applied(PGconn *c, long version)
{
	char v[32];
	const char *params[] = { v };
	snprintf(v, sizeof(v), "%ld", version);
	PGresult *r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL, params, NULL, NULL,
				   0);
	int yes = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
	PQclear(r);
	return yes;
}

static int apply_one(PGconn *c, const char *dir, const char *name, char *err, size_t errlen)
{
	long version = strtol(name, NULL, 10);
	char *path = xasprintf("%s/%s", dir, name), *sql = read_file(path), v[32];
	const char *params[] = { v, name };
	int rc = -1;

	if (!sql) {
		errbuf_set(err, errlen, "cannot read %s", path);
		goto out;
	}
	if (applied(c, version)) {
		rc = 0;
		goto out;
	}
	snprintf(v, sizeof(v), "%ld", version);
	if (exec_script(c, "BEGIN", err, errlen) < 0)
		goto out;
	if (exec_script(c, sql, err, errlen) < 0) {
		char inner[512];
		str_copy(inner, err, sizeof(inner));
		errbuf_set(err, errlen, "migration %s failed: %s", name, inner);
		PQclear(PQexec(c, "ROLLBACK"));
		goto out;
	}
	PGresult *r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, NULL, params,
				   NULL, NULL, 0);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok || exec_script(c, "COMMIT", err, errlen) < 0) {
		PQclear(PQexec(c, "ROLLBACK"));
		errbuf_set(err, errlen, "migration %s could not be recorded", name);
		goto out;
	}
	log_info("applied migration %s", name);
	rc = 1;
out:
	free(sql);
	free(path);
	return rc;
}

int migrate_apply(struct db *db, const char *dir, char *err, size_t errlen)
{
	PGconn *c = db_conn(db);
	char **names = NULL;
	size_t n = list_files(dir, &names);
	int count = 0;

	if (n == 0)
		return errbuf_set(err, errlen, "no migrations found in %s", dir);
	if (exec_script(c, "SELECT pg_advisory_lock(x'" MIGRATE_LOCK_KEY "'::bigint)", err, errlen) < 0 ||
	    exec_script(
		    c,
		    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
		    "applied_at timestamptz NOT NULL DEFAULT now())",
		    err, errlen) < 0)
		count = -1;
	for (size_t i = 0; i < n; i++) {
		int rc = count < 0 ? 0 : apply_one(c, dir, names[i], err, errlen);
		if (rc < 0)
			count = -1;
		else if (count >= 0)
			count += rc;
		free(names[i]);
	}
	free(names);
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(x'" MIGRATE_LOCK_KEY "'::bigint)"));
	return count;
}
