/*
 * reelctl: the operator's command. Subcommands:
 *   reelctl migrate [DIR]                       apply the SQL migrations (default deploy/migrations)
 *   reelctl mint-key --owner SUB [--name NAME]  make an rk_ API key for SUB; printed once, stored hashed
 *   reelctl revoke-key PREFIX                   revoke the key with that prefix
 *   reelctl dlq list [--all] | replay ID|--all  dead letters (see dlq.h)
 * Each reads REEL_DATABASE_URL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db.h"
#include "dlq.h"
#include "log.h"
#include "migrate.h"
#include "banned.h"

static int usage(FILE *to)
{
	fprintf(to, "usage: reelctl migrate [DIR]\n"
		    "       reelctl mint-key --owner SUB [--name NAME]\n"
		    "       reelctl revoke-key PREFIX\n"
		    "       reelctl dlq list [--all] | reelctl dlq replay ID|--all\n"
		    "Every subcommand uses REEL_DATABASE_URL.\n");
	return to == stdout ? 0 : 2;
}

static int cmd_migrate(struct db *db, int argc, char **argv)
{
	char err[1024];
	int n = migrate_apply(db, argc > 2 ? argv[2] : "deploy/migrations", err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "reelctl migrate: %s\n", err);
		return 1;
	}
	printf("schema up to date (%d migration%s applied)\n", n, n == 1 ? "" : "s");
	return 0;
}

static const char *flag(int argc, char **argv, const char *name)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static int cmd_mint(struct db *db, int argc, char **argv)
{
	static const char sql[] = "INSERT INTO api_keys (owner, prefix, hash, name) VALUES ($1, $2, $3, $4)";
	const char *owner = flag(argc, argv, "--owner"), *name = flag(argc, argv, "--name");
	char key[AUTH_KEY_MAX], prefix[AUTH_KEY_PREFIX_LEN + 1], hash[65];
	if (!owner || !*owner || strlen(owner) >= AUTH_SUB_MAX)
		return usage(stderr);
	auth_api_key_mint(key, sizeof(key), prefix, sizeof(prefix));
	auth_api_key_hash(key, hash);
	const char *params[] = { owner, prefix, hash, name };
	if (db_run(db, sql, 4, params) < 0) {
		fprintf(stderr, "reelctl mint-key: %s\n", db_last_error(db));
		return 1;
	}
	fprintf(stderr, "API key %s for %s (shown once; only its hash is stored):\n", prefix, owner);
	printf("%s\n", key);
	return 0;
}

static int cmd_revoke(struct db *db, int argc, char **argv)
{
	static const char sql[] = "UPDATE api_keys SET revoked_at = now() WHERE prefix = $1 AND revoked_at IS NULL";
	if (argc != 3)
		return usage(stderr);
	const char *params[] = { argv[2] };
	PGresult *r = db_exec(db, sql, 1, params);
	if (!r) {
		fprintf(stderr, "reelctl revoke-key: %s\n", db_last_error(db));
		return 1;
	}
	long n = db_affected(r);
	PQclear(r);
	printf(n ? "revoked %s\n" : "no active key %s\n", argv[2]);
	return n ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *url = getenv("REEL_DATABASE_URL");
	char err[1024];
	struct db *db;
	int rc;

	log_init("reelctl");
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
		return usage(argc < 2 ? stderr : stdout);
	if (!url || !*url) {
		fprintf(stderr, "reelctl: REEL_DATABASE_URL is required\n");
		return 2;
	}
	if (!(db = db_open(url, err, sizeof(err)))) {
		fprintf(stderr, "reelctl: %s\n", err);
		return 1;
	}
	if (strcmp(argv[1], "migrate") == 0)
		rc = cmd_migrate(db, argc, argv);
	else if (strcmp(argv[1], "mint-key") == 0)
		rc = cmd_mint(db, argc, argv);
	else if (strcmp(argv[1], "revoke-key") == 0)
		rc = cmd_revoke(db, argc, argv);
	else if (strcmp(argv[1], "dlq") == 0)
		rc = dlq_command(db, argc, argv);
	else
		rc = usage(stderr);
	db_free(db);
	return rc;
}
