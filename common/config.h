/*
 * Configuration from the environment, 12-factor style. Each daemon declares a
 * table of options (variable, type, default, flags, where the value goes, a
 * one-line meaning); config_load fills the caller's struct and refuses bad
 * values by name, and config_log prints the effective values, secrets masked.
 */
#ifndef REEL_CONFIG_H
#define REEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum config_type {
	CONFIG_STRING, /* char *, owned by the struct, freed by config_release */
	CONFIG_INT,    /* long, within [min, max] */
	CONFIG_BOOL,   /* bool: 1/0, true/false, yes/no, on/off */
};

enum {
	CONFIG_REQUIRED = 1 << 0, /* an empty or unset value is an error */
	CONFIG_SECRET = 1 << 1,   /* masked when logged */
};

struct config_option {
	const char *name; /* environment variable */
	enum config_type type;
	const char *def; /* default as text; NULL means unset */
	unsigned flags;
	size_t offset;    /* offsetof the field in the caller's struct */
	long min, max;    /* bounds for CONFIG_INT */
	const char *help; /* one line: what it means */
};

/* Reads every option from the environment into dst. -1 with err naming the variable. */
int config_load(const struct config_option *opts, size_t n, void *dst, char *err, size_t errlen) WARN_UNUSED;
/* Logs the effective configuration, one line, secrets masked. */
void config_log(const struct config_option *opts, size_t n, const void *dst);
/* Frees the strings config_load allocated in dst. */
void config_release(const struct config_option *opts, size_t n, void *dst);

#endif
