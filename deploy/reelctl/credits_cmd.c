/*
 * reelctl credits show / grant / adjust. A grant adds credits (a reason is
 * optional); an adjust corrects a balance up or down and must say why: the
 * reason is kept in its ledger row.
 */
#include "credits_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "db.h"
#include "ledger.h"
#include "banned.h"

#define SHOW_ROWS "10"

static const char help[] =
	"usage: reelctl credits show --owner OWNER\n"
	"       reelctl credits grant --owner OWNER --amount N [--reason TEXT]\n"
	"       reelctl credits adjust --owner OWNER --amount N --reason TEXT\n"
	"show prints the owner's available and reserved credits, plan and last " SHOW_ROWS " ledger rows.\n"
	"grant adds N (> 0) credits; adjust adds N (negative takes credits away) and needs a reason,\n"
	"kept in the ledger row. OWNER is the API's owner (API key owner, JWT sub, or anonymous).\n";

static int refuse(const char *why)
{
	fprintf(stderr, "reelctl credits: %s\n", why);
	return 2;
}

static int db_failed(struct db *db)
{
	fprintf(stderr, "reelctl credits: %s\n", db_last_error(db));
	return 1;
}

static int show(struct db *db, const char *owner)
{
	static const char account[] = "SELECT available, reserved, plan, coalesce(plan_renews_at::text, '-'), "
				      "coalesce(plan_ends_at::text, '-') FROM credit_accounts WHERE owner = $1";
	static const char rows[] = "SELECT id, at, kind, amount, held, coalesce(job_id::text, ''), "
				   "coalesce(stage || '/' || provider, ''), coalesce(payment, reason, '') "
				   "FROM credit_ledger WHERE owner = $1 ORDER BY id DESC LIMIT " SHOW_ROWS;
	const char *params[] = { owner };
	PGresult *r = db_exec(db, account, 1, params);
	if (!r)
		return db_failed(db);
	if (PQntuples(r) == 0)
		printf("%s: no credits yet (plan free)\n", owner);
	else
		printf("%s: available %s, reserved %s, plan %s (renews %s, ends %s)\n", owner, PQgetvalue(r, 0, 0),
		       PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4));
	PQclear(r);
	if (!(r = db_exec(db, rows, 1, params)))
		return db_failed(db);
	for (int i = 0; i < PQntuples(r); i++)
		printf("%8s  %s  %-12s %8s %8s  %s %s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
		       PQgetvalue(r, i, 6), PQgetvalue(r, i, 7));
	PQclear(r);
	return 0;
}

/* --amount as a whole number into *amount; -1 when absent or not one. */
static int amount_of(int argc, char **argv, long *amount)
{
	const char *text = args_flag(argc, argv, "--amount");
	char *end;
	if (!text || !*text)
		return -1;
	errno = 0;
	*amount = strtol(text, &end, 10);
	return errno || *end || *amount == 0 ? -1 : 0;
}

static int change(struct db *db, const char *owner, const char *kind, long amount, const char *reason)
{
	if (ledger_credit(db, owner, kind, amount, NULL, reason) < 0)
		return db_failed(db);
	printf("%s %+ld credits for %s\n", kind, amount, owner);
	return show(db, owner);
}

int credits_cmd_run(struct db *db, int argc, char **argv)
{
	const char *sub = argc > 2 ? argv[2] : "", *owner = args_flag(argc, argv, "--owner");
	const char *reason = args_flag(argc, argv, "--reason");
	long amount = 0;
	if (args_help(argc, argv, help))
		return 0;
	if (!owner || !*owner)
		return refuse("--owner OWNER is required");
	if (strcmp(sub, "show") == 0)
		return show(db, owner);
	if (strcmp(sub, "grant") != 0 && strcmp(sub, "adjust") != 0)
		return refuse("the subcommand is show, grant or adjust (reelctl credits --help)");
	if (amount_of(argc, argv, &amount) < 0)
		return refuse("--amount N is required: a whole number other than 0");
	if (strcmp(sub, "grant") == 0 && amount < 0)
		return refuse("a grant adds credits: --amount must be positive (adjust takes credits away)");
	if (strcmp(sub, "adjust") == 0 && (!reason || !*reason))
		return refuse("adjust needs --reason TEXT, kept in the ledger row");
	return change(db, owner, sub, amount, reason);
}
