/*
 * The parse stage: a queued job's text becomes its storyboard (the shots
 * table), and one render message per shot.
 */
#ifndef REEL_PARSE_H
#define REEL_PARSE_H

#include "worker.h"

extern const struct stage_ops parse_ops;

#endif
