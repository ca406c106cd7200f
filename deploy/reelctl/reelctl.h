/*
 * reelctl's commands beyond keys and migrations: a job's timeline, requeue of
 * stuck jobs (ops.c, over PostgreSQL) and submit (submit.c, over the
 * gateway's HTTP API). Each takes main's argc/argv (argv[1] is the command)
 * and returns the process's exit code.
 */
#ifndef REEL_REELCTL_H
#define REEL_REELCTL_H

struct db;

/* ops.c: runs a statement that changes rows: how many it changed, or -1 after printing the error for command. */
long ops_change(struct db *db, const char *command, const char *sql, int nparams, const char *const *params);

int ops_timeline(struct db *db, int argc, char **argv);
int ops_requeue(struct db *db, int argc, char **argv);
int submit_job(int argc, char **argv);

#endif
