/*
 * tts-worker's own configuration: the limits of one vendor call and how
 * often voices are read. Each vendor declares its own options (address,
 * key, model...) in its file under providers/.
 */
#ifndef REEL_TTS_CONFIG_H
#define REEL_TTS_CONFIG_H

#include <stddef.h>

#include "config.h"

struct tts_settings {
	long timeout_s;        /* REEL_TTS_TIMEOUT_S: one vendor call */
	long max_audio_kb;     /* REEL_TTS_MAX_AUDIO_KB: a larger answer is refused */
	long voices_refresh_s; /* REEL_TTS_VOICES_REFRESH_S: how old the voice catalogue may grow */
};

extern const struct config_option tts_config_options[];
extern const size_t tts_config_n_options;

#endif
