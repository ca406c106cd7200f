/*
 * reelctl: the operator's command. Subcommands:
 *   reelctl migrate [DIR]                       apply the SQL migrations (default deploy/migrations)
 *   reelctl mint-key --owner SUB [--name NAME]  make an rk_ API key for SUB; printed once, stored hashed
 *   reelctl revoke-key PREFIX                   revoke the key with that prefix
 *   reelctl timeline JOB                        a job's events (ops.c)
 *   reelctl requeue [--dry-run] [JOB...]        re-announce stuck jobs through the outbox (ops.c)
 *   reelctl submit FILE [--wait]                create a job over HTTP, follow it (submit.c)
 *   reelctl dlq list [--all] | replay ID|--all  dead letters (dlq.c)
 *   reelctl voices add|list|remove ...          the voice catalogue (voices.c)
 *   reelctl credits show|grant|adjust ...       an owner's credits (credits_cmd.c)
 * Each but submit reads REEL_DATABASE_URL; `reelctl COMMAND --help` explains one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "auth.h"
#include "auth_api_key.h"
#include "credits_cmd.h"
#include "db.h"
#include "dlq.h"
#include "log.h"
#include "migrate.h"
#include "reelctl.h"
#include "voices.h"
#include "banned.h"

static int usage(FILE *to)
{
	fprintf(to, "usage: reelctl migrate [DIR]\n"
		    "       reelctl mint-key --owner SUB [--name NAME]\n"
		    "       reelctl revoke-key PREFIX\n"
		    "       reelctl timeline JOB\n"
		    "       reelctl requeue [--dry-run] [JOB...]\n"
		    "       reelctl submit FILE [--wait]\n"
		    "       reelctl dlq list [--all] | reelctl dlq replay ID|--all\n"
		    "       reelctl voices add|list|remove ...\n"
		    "       reelctl credits show|grant|adjust --owner OWNER [--amount N] [--reason TEXT]\n"
		    "Every subcommand but submit uses REEL_DATABASE_URL; reelctl COMMAND --help explains it.\n");
	return to == stdout ? 0 : 2;
}

static const char migrate_help[] =
	"usage: reelctl migrate [DIR]\n"
	"Applies the SQL migrations of DIR (default deploy/migrations) not yet applied, in order,\n"
	"each in its own transaction, recorded in schema_migrations.\n";
static const char mint_help[] = "usage: reelctl mint-key --owner SUB [--name NAME]\n"
				"Makes an rk_ API key for the subject SUB; prints it once (only its hash is stored).\n";
static const char revoke_help[] = "usage: reelctl revoke-key PREFIX\n"
				  "Revokes the API key with that prefix (the part shown by mint-key).\n";

static int cmd_migrate(struct db *db, int argc, char **argv)
{
	char err[1024];
	if (args_help(argc, argv, migrate_help))
		return 0;
	int n = migrate_apply(db, argc > 2 ? argv[2] : "deploy/migrations", err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "reelctl migrate: %s\n", err);
		return 1;
	}
	printf("schema up to date (%d migration%s applied)\n", n, n == 1 ? "" : "s");
	return 0;
}

static int cmd_mint(struct db *db, int argc, char **argv)
{
	static const char sql[] = "INSERT INTO api_keys (owner, prefix, hash, name) VALUES ($1, $2, $3, $4)";
	const char *owner = args_flag(argc, argv, "--owner"), *name = args_flag(argc, argv, "--name");
	char key[AUTH_KEY_MAX], prefix[AUTH_KEY_PREFIX_LEN + 1], hash[65];
	if (args_help(argc, argv, mint_help))
		return 0;
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
	if (args_help(argc, argv, revoke_help))
		return 0;
	if (argc != 3)
		return usage(stderr);
	const char *params[] = { argv[2] };
	long n = ops_change(db, "revoke-key", sql, 1, params);
	if (n < 0)
		return 1;
	printf(n ? "revoked %s\n" : "no active key %s\n", argv[2]);
	return n ? 0 : 1;
}

/* The commands that use the database; each answers its own --help without one. */
static const struct command {
	const char *name;
	int (*run)(struct db *db, int argc, char **argv);
} commands[] = {
	{ "migrate", cmd_migrate },   { "mint-key", cmd_mint },       { "revoke-key", cmd_revoke },
	{ "timeline", ops_timeline }, { "requeue", ops_requeue },     { "dlq", dlq_command },
	{ "voices", voices_command }, { "credits", credits_cmd_run },
};

int main(int argc, char **argv)
{
	const char *url = getenv("REEL_DATABASE_URL");
	const struct command *cmd = NULL;
	char err[1024];
	struct db *db;

	log_init("reelctl");
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
		return usage(argc < 2 ? stderr : stdout);
	if (strcmp(argv[1], "submit") == 0)
		return submit_job(argc, argv);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd)
		return usage(stderr);
	if (args_has(argc, argv, "--help") || args_has(argc, argv, "-h"))
		return cmd->run(NULL, argc, argv);
	if (!url || !*url) {
		fprintf(stderr, "reelctl: REEL_DATABASE_URL is required\n");
		return 2;
	}
	if (!(db = db_open(url, err, sizeof(err)))) {
		fprintf(stderr, "reelctl: %s\n", err);
		return 1;
	}
	int rc = cmd->run(db, argc, argv);
	db_free(db);
	return rc;
}
