/*
 * The provider names each stage knows, for the gateway to refuse a job's
 * unknown options.providers at once; each worker keeps its own registry
 * of the code behind these names.
 */
#ifndef REEL_PROVIDERS_H
#define REEL_PROVIDERS_H

#include <stddef.h>

/* The NULL-terminated names stage ("parse", "render", "tts", "merge") accepts, or NULL for no such stage. */
const char *const *providers_of(const char *stage);
/* The names as one "a, b, c" line into buf, for error messages. */
const char *providers_list(const char *stage, char *buf, size_t len);

#endif
