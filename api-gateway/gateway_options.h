/*
 * The gateway's own options; they fill struct gateway.
 */
#ifndef REEL_GATEWAY_OPTIONS_H
#define REEL_GATEWAY_OPTIONS_H

#include <stddef.h>

#include "config.h"

extern const struct config_option gateway_options[];
extern const size_t gateway_options_n;

#endif
