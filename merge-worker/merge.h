/*
 * The merge stage: a job whose shots are all ready becomes one MP4 in
 * storage, and the job is done.
 */
#ifndef REEL_MERGE_H
#define REEL_MERGE_H

#include "worker.h"

extern const struct stage_ops merge_ops;

#endif
