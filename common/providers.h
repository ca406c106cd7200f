/*
 * The provider names each stage knows, for the gateway (and reelctl) to
 * refuse a job's unknown options.providers at once. They cannot link the
 * workers' registries, so the build generates the table from them
 * (tools/reel_config.c, `reel-config names-c`): a program using these
 * functions links $(BUILD)/gen/providers_table.o.
 */
#ifndef REEL_PROVIDERS_H
#define REEL_PROVIDERS_H

#include <stddef.h>

struct providers_stage {
	const char *stage;
	const char *const *names; /* NULL-terminated */
};

/* The generated table, ended by an entry without a stage. */
extern const struct providers_stage providers_stages[];

/* The NULL-terminated names stage ("parse", "render", "tts", "merge") accepts, or NULL for no such stage. */
const char *const *providers_of(const char *stage);
/* The names as one "a, b, c" line into buf, for error messages. */
const char *providers_list(const char *stage, char *buf, size_t len);

#endif
