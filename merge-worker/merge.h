/*
 * The merge stage: a job whose shots are all ready becomes one MP4 in
 * storage (with poster, subtitles and manifest), and the job is done.
 */
#ifndef REEL_MERGE_H
#define REEL_MERGE_H

#include "config.h"
#include "provider.h"
#include "worker.h"

/* The stage's own settings, filled from merge_options at start. */
struct merge_config {
	char *preset; /* REEL_MERGE_PRESET: libx264 preset */
	long crf;     /* REEL_MERGE_CRF: libx264 constant rate factor */
};

extern struct merge_config merge_config;
extern const struct config_option merge_options[2];
extern const struct stage_ops merge_ops;
/* The stage's providers (providers/registry.c). */
extern const struct provider_registry merge_registry;

#endif
