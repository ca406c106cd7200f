/*
 * What every stage's provider declares about itself, whatever it does: its
 * name, the variable of its key and its own options. Each stage embeds this
 * descriptor as the first member (info) of its provider struct
 * (parse_provider, render_provider, tts_provider, merge's) and keeps one
 * registry: a table of the descriptors of its providers. The registries are
 * the only list of provider names and options; the gateway's per-job check,
 * docs/configuration.md, deploy/reelforge.env, the ConfigMap and the
 * OpenAPI enums come from them through tools/reel_config.c.
 */
#ifndef REEL_PROVIDER_H
#define REEL_PROVIDER_H

#include <stddef.h>

#include "config.h"
#include "util.h"

struct provider_info {
	const char *name;    /* the REEL_<STAGE>_PROVIDER and options.providers.<stage> value */
	const char *summary; /* one line for the configuration reference */
	const char *key_var; /* the variable of its key, named when a vendor refuses it; NULL offline */
	/* Its own variables, ended by an entry without a name; NULL for none.
	 * With config_size 0 the offsets are into the stage's settings struct
	 * (struct parse_config, struct vendors); otherwise into a struct of the
	 * provider's own of that size, which provider_config_load fills. */
	const struct config_option *options;
	size_t config_size;
};

/* One entry of info.options: field of the struct T the option fills. */
/* clang-format off */
#define PROVIDER_OPT(T, env, type, def, flags, field, min, max, help) \
	{ env, type, def, flags, offsetof(T, field), min, max, help }
/* clang-format on */

/* A stage's providers, in the order the docs and error messages list them. */
struct provider_registry {
	const char *stage; /* parse, render, tts, merge */
	const struct provider_info *const *list;
	size_t n;
};

/* The provider struct that embeds info as its member `info`. */
/* clang-format off */
#define provider_of(type, i) ((const type *)((const char *)(i) - offsetof(type, info)))
/* clang-format on */

/* The provider called name in r, or NULL. */
const struct provider_info *provider_find(const struct provider_registry *r, const char *name);
/* The names as one "a, b, c" line into buf, for error messages. */
const char *provider_names(const struct provider_registry *r, char *buf, size_t len);
/* How many options p declares. */
size_t provider_n_options(const struct provider_info *p);
/* A struct of p's own (config_size bytes) filled from the environment and
 * logged, or NULL with err naming the variable. The caller frees it with
 * provider_config_free. */
void *provider_config_load(const struct provider_info *p, char *err, size_t errlen);
void provider_config_free(const struct provider_info *p, void *cfg);

#endif
