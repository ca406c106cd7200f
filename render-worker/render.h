/*
 * The render stage: each shot's prompt becomes its keyframe in storage, and
 * the shot moves on to narration.
 */
#ifndef REEL_RENDER_H
#define REEL_RENDER_H

#include "worker.h"

extern const struct stage_ops render_ops;

#endif
