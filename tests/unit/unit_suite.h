/*
 * The main() of a unit test binary split over several files: runs its
 * suite, each test in a forked child so a crash fails one test only.
 */
#ifndef REEL_UNIT_SUITE_H
#define REEL_UNIT_SUITE_H

#include <check.h>
#include <stdlib.h>

/* Runs the suite; the exit status for main(). */
static inline int unit_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
