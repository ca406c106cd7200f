/*
 * The merge stage's providers: both names run the same FFmpeg assembly on
 * this machine (the plugin); they are listed so the gateway, the docs and
 * REEL_MERGE_PROVIDER know them from one place.
 */
#include "merge.h"

#include "banned.h"

static const struct provider_info offline = {
	.name = "offline",
	.summary = "FFmpeg on this machine (the same as ffmpeg)",
};
static const struct provider_info ffmpeg = {
	.name = "ffmpeg",
	.summary = "FFmpeg on this machine: libx264 video, AAC audio, burnt-in subtitles",
};

/* The registry: one line per provider. */
static const struct provider_info *const all[] = {
	&offline,
	&ffmpeg,
};
const struct provider_registry merge_registry = { "merge", all, ARRAY_SIZE(all) };
