/*
 * tts-worker's option table; the vendors' options are in their files.
 */
#include "tts_config.h"

#include <stddef.h>

#include "tts.h"
#include "banned.h"

/* clang-format off */
#define OPT(name, type, def, flags, field, min, max, help) \
	{ name, type, def, flags, offsetof(struct tts_settings, field), min, max, help }
/* clang-format on */

const struct config_option tts_config_options[] = {
	OPT("REEL_TTS_TIMEOUT_S", CONFIG_INT, "60", 0, timeout_s, 1, 3600, "seconds one vendor call may take"),
	OPT("REEL_TTS_MAX_AUDIO_KB", CONFIG_INT, "32768", 0, max_audio_kb, 16, 1048576,
	    "larger vendor answers are refused"),
	OPT("REEL_TTS_VOICES_REFRESH_S", CONFIG_INT, "60", 0, voices_refresh_s, 0, 86400,
	    "seconds after which the voices table is read again (0: before every batch)"),
};
const size_t tts_config_n_options = ARRAY_SIZE(tts_config_options);
