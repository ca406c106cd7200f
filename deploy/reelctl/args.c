/*
 * reelctl's argument reading: argv[1] is the command, flags follow in any order.
 */
#include "args.h"

#include <stdio.h>
#include <string.h>

#include "banned.h"

const char *args_flag(int argc, char **argv, const char *name)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

int args_has(int argc, char **argv, const char *name)
{
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int args_help(int argc, char **argv, const char *text)
{
	if (!args_has(argc, argv, "--help") && !args_has(argc, argv, "-h"))
		return 0;
	fputs(text, stdout);
	return 1;
}
