/*
 * Run-time plugins: a daemon's heavy, optional code (the offline keyframe
 * drawer with libavfilter, the FFmpeg assembler) lives in
 * lib/reel-<daemon>.so and is loaded only by the provider that needs it, so a
 * worker configured otherwise never maps those libraries.
 */
#ifndef REEL_PLUGIN_H
#define REEL_PLUGIN_H

#include <stddef.h>

#include "util.h"

/* Loads reel-<name>.so from REEL_PLUGIN_DIR, else from ../lib beside the
 * running binary, and resolves symbols[i] into addrs[i]. Loaded once for the
 * life of the process. 0, or -1 with err naming what is missing. */
int plugin_load(const char *name, const char *const *symbols, void **addrs, size_t n, char *err,
		size_t errlen) WARN_UNUSED;

#endif
