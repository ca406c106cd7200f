/*
 * The tts stage: each rendered shot's narration becomes audio in storage
 * with its measured duration; the shot becomes ready, and the job's last
 * ready shot sends the job to merging.
 */
#ifndef REEL_VOICE_H
#define REEL_VOICE_H

#include "worker.h"

extern const struct stage_ops voice_ops;

#endif
