/*
 * reelctl's command-line flags. Every function takes main's argc/argv and
 * looks at argv[2..] (argv[1] is the command).
 */
#ifndef REEL_ARGS_H
#define REEL_ARGS_H

/* The value of "--name VALUE" among argv[2..], or NULL. */
const char *args_flag(int argc, char **argv, const char *name);
/* True when "--name" is among argv[2..]. */
int args_has(int argc, char **argv, const char *name);
/* True when the command was asked for its --help (text is then printed to stdout). */
int args_help(int argc, char **argv, const char *text);

#endif
