/*
 * tts-worker's option table. Base URLs follow the vendors' SDKs:
 * OPENAI_BASE_URL includes /v1, FISH_BASE_URL and ELEVENLABS_BASE_URL do not.
 */
#include "tts_config.h"

#include <stddef.h>

#include "tts.h"
#include "banned.h"

#define OPT(name, type, def, flags, field, min, max, help)                                                             \
	{                                                                                                              \
		name, type, def, flags, offsetof(struct tts_settings, field), min, max, help                           \
	}

const struct config_option tts_config_options[] = {
	OPT("FISH_BASE_URL", CONFIG_STRING, "https://api.fish.audio", 0, fish_base_url, 0, 0,
	    "Fish Audio API base, without /v1"),
	OPT("FISH_API_KEY", CONFIG_STRING, NULL, CONFIG_SECRET, fish_api_key, 0, 0, "key for the fish provider"),
	OPT("REEL_TTS_FISH_MODEL", CONFIG_STRING, "s1", 0, fish_model, 0, 0, "Fish Audio model header"),
	OPT("REEL_TTS_FISH_FORMAT", CONFIG_STRING, "mp3", 0, fish_format, 0, 0, "mp3, wav, pcm or opus"),
	OPT("REEL_TTS_FISH_MAX_CHARS", CONFIG_INT, "1000", 0, fish_max_chars, 20, 100000,
	    "longest text of one Fish Audio request"),
	OPT("OPENAI_BASE_URL", CONFIG_STRING, "https://api.openai.com/v1", 0, openai_base_url, 0, 0,
	    "OpenAI-compatible API base, /v1 included"),
	OPT("OPENAI_API_KEY", CONFIG_STRING, NULL, CONFIG_SECRET, openai_api_key, 0, 0, "key for the openai provider"),
	OPT("REEL_TTS_OPENAI_MODEL", CONFIG_STRING, "tts-1", 0, openai_model, 0, 0, "OpenAI speech model"),
	OPT("REEL_TTS_OPENAI_FORMAT", CONFIG_STRING, "mp3", 0, openai_format, 0, 0, "mp3, opus, aac, flac, wav or pcm"),
	OPT("REEL_TTS_OPENAI_MAX_CHARS", CONFIG_INT, "4096", 0, openai_max_chars, 20, 4096,
	    "longest text of one OpenAI speech request"),
	OPT("ELEVENLABS_BASE_URL", CONFIG_STRING, "https://api.elevenlabs.io", 0, elevenlabs_base_url, 0, 0,
	    "ElevenLabs API base, without /v1"),
	OPT("ELEVENLABS_API_KEY", CONFIG_STRING, NULL, CONFIG_SECRET, elevenlabs_api_key, 0, 0,
	    "key for the elevenlabs provider"),
	OPT("REEL_TTS_ELEVENLABS_MODEL", CONFIG_STRING, "eleven_multilingual_v2", 0, elevenlabs_model, 0, 0,
	    "ElevenLabs model_id"),
	OPT("REEL_TTS_ELEVENLABS_FORMAT", CONFIG_STRING, "mp3_44100_128", 0, elevenlabs_format, 0, 0,
	    "output_format: codec_samplerate[_bitrate], e.g. mp3_44100_128, "
	    "pcm_24000"),
	OPT("REEL_TTS_ELEVENLABS_MAX_CHARS", CONFIG_INT, "5000", 0, elevenlabs_max_chars, 20, 100000,
	    "longest text of one ElevenLabs request"),
	OPT("REEL_TTS_TIMEOUT_S", CONFIG_INT, "60", 0, timeout_s, 1, 3600, "seconds one vendor call may take"),
	OPT("REEL_TTS_MAX_AUDIO_KB", CONFIG_INT, "32768", 0, max_audio_kb, 16, 1048576,
	    "larger vendor answers are refused"),
	OPT("REEL_TTS_VOICES_REFRESH_S", CONFIG_INT, "60", 0, voices_refresh_s, 0, 86400,
	    "seconds after which the voices table is read again (0: before every batch)"),
};
const size_t tts_config_n_options = ARRAY_SIZE(tts_config_options);
