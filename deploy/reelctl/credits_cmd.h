/*
 * reelctl credits: the operator's view of an owner's credits (`show`) and
 * hand on them (`grant`, `adjust`), written through the ledger like every
 * other change, so the owner's balance stays the sum of its rows.
 */
#ifndef REEL_CREDITS_CMD_H
#define REEL_CREDITS_CMD_H

struct db;

/* reelctl credits show|grant|adjust ...; argv[1] is "credits". The exit code. */
int credits_cmd_run(struct db *db, int argc, char **argv);

#endif
