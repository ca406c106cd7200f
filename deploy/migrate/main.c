/*
 * reel-migrate: applies the SQL migrations to REEL_DATABASE_URL.
 * Usage: reel-migrate [DIR]   (default: deploy/migrations)
 */
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "log.h"
#include "migrate.h"
#include "banned.h"

int main(int argc, char **argv)
{
	const char *url = getenv("REEL_DATABASE_URL"), *dir = argc > 1 ? argv[1] : "deploy/migrations";
	char err[1024];
	struct db *db;
	int n;

	log_init("reel-migrate");
	if (!url || !*url) {
		fprintf(stderr, "reel-migrate: REEL_DATABASE_URL is required\n");
		return 2;
	}
	db = db_open(url, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "reel-migrate: %s\n", err);
		return 1;
	}
	n = migrate_apply(db, dir, err, sizeof(err));
	db_free(db);
	if (n < 0) {
		fprintf(stderr, "reel-migrate: %s\n", err);
		return 1;
	}
	printf("schema up to date (%d migration%s applied)\n", n, n == 1 ? "" : "s");
	return 0;
}
