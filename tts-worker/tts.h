/*
 * The tts-worker's provider interface: a provider turns a shot's narration
 * into an audio file and says exactly how long it is.
 */
#ifndef REEL_TTS_H
#define REEL_TTS_H

#include <stdint.h>
#include <stddef.h>

#include "util.h"

struct tts_request {
	const char *text;     /* the narration, UTF-8 */
	const char *language; /* "en", "zh", ... or NULL to detect from the text */
	const char *voice;    /* provider voice name, or NULL for the language's default */
};

struct tts_result {
	int64_t duration_ms; /* exact length of the written audio */
	int sample_rate;     /* of the written file */
};

struct tts_provider {
	const char *name;
	/* Writes the narration as audio to out_path. Blocking; runs on the thread
	 * pool, so it must be safe to call from several threads. 0 or -1 with err. */
	int (*synthesize)(const struct tts_request *rq, const char *out_path, struct tts_result *res,
			  char *err, size_t errlen);
};

/* "zh" when the text is mostly CJK ideographs, "ja" when it holds kana, else "en". */
const char *tts_detect_language(const char *text);

/* Offline speech with libespeak-ng; defined in the tts-worker plugin. */
extern const struct tts_provider tts_provider_espeak;

#endif
