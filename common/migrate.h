/*
 * Schema migrations: the numbered SQL files of a directory, applied in order,
 * each once and in its own transaction, under an advisory lock so that
 * several starting processes never race, and recorded in schema_migrations.
 */
#ifndef REEL_MIGRATE_H
#define REEL_MIGRATE_H

#include <stddef.h>

#include "util.h"

struct db;

/* Applies the files NNN_name.sql in dir that the database has not seen.
 * Returns how many were applied, or -1 with err. */
int migrate_apply(struct db *db, const char *dir, char *err, size_t errlen) WARN_UNUSED;

#endif
