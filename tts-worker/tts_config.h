/*
 * tts-worker's configuration: each vendor's address, key, model, audio
 * format and text limit per request, and the timeout of one call.
 */
#ifndef REEL_TTS_CONFIG_H
#define REEL_TTS_CONFIG_H

#include <stddef.h>

#include "config.h"

struct tts_settings {
	char *fish_base_url, *fish_api_key, *fish_model, *fish_format;
	char *openai_base_url, *openai_api_key, *openai_model, *openai_format;
	char *elevenlabs_base_url, *elevenlabs_api_key, *elevenlabs_model, *elevenlabs_format;
	long fish_max_chars, openai_max_chars, elevenlabs_max_chars; /* REEL_TTS_<VENDOR>_MAX_CHARS */
	long timeout_s;                                              /* REEL_TTS_TIMEOUT_S: one vendor call */
	long max_audio_kb; /* REEL_TTS_MAX_AUDIO_KB: a larger answer is refused */
	long voices_refresh_s; /* REEL_TTS_VOICES_REFRESH_S: how old the voice catalogue may grow */
};

extern const struct config_option tts_config_options[];
extern const size_t tts_config_n_options;

#endif
