/*
 * reelctl dlq: the operator's view of dead letters (messages a stage gave up
 * on). `list` shows the unreplayed ones; `replay ID|--all` publishes them
 * again through the outbox and puts their items back to work.
 */
#ifndef REEL_CTL_DLQ_H
#define REEL_CTL_DLQ_H

struct db;

/* reelctl dlq list [--all] | replay ID|--all; argv[1] is "dlq". The exit code. */
int dlq_command(struct db *db, int argc, char **argv);

#endif
