/*
 * The tts-worker's provider interface. A vendor (fish, openai, elevenlabs)
 * is spoken to over HTTP on the event loop: it builds one request per part
 * of a narration and reads the answer into audio bytes (and word timings
 * where it gives them). espeak speaks offline through the plugin. Decoding,
 * trimming and joining the parts run in the plugin on the thread pool.
 */
#ifndef REEL_TTS_H
#define REEL_TTS_H

#include <stddef.h>
#include <stdint.h>

#include "provider.h"
#include "util.h"

struct tts_request {
	const char *text;     /* the narration, UTF-8 */
	const char *language; /* "en", "zh", ... or NULL to detect from the text */
	const char *voice;    /* provider voice name, or NULL for the language's default */
};

struct tts_result {
	int64_t duration_ms; /* exact length of the written audio */
	int sample_rate;     /* of the written file */
	char voice[112];     /* the voice that spoke, as the provider names it ("en-us+f3") */
};

/* What tts_provider.synthesize returns. */
enum tts_outcome {
	TTS_OK = 0,
	TTS_FAILED = -1,   /* may work another time, or with other text */
	TTS_NO_VOICE = -2, /* the voice or language asked for does not exist here: no retry helps */
};

/* A word or sentence and when it is spoken, in ms from the start of the audio.
 */
struct tts_timing {
	int64_t start_ms, end_ms;
	char *text; /* owned */
};

/* One vendor answer: the audio as sent and the timings it carried. Owns its
 * buffers. */
struct tts_audio {
	char *data;
	size_t len;
	int raw_rate;             /* > 0: headerless 16-bit little-endian mono PCM at this rate */
	struct tts_timing *words; /* from the vendor (ElevenLabs alignment), relative
				     to this audio */
	size_t n_words;
};

/* One part of a narration for tts_decode_assemble. */
struct tts_part {
	const void *data;
	size_t len;
	int raw_rate;        /* as in tts_audio */
	int64_t start_ms;    /* out: where the part begins in the joined audio */
	int64_t duration_ms; /* out: its length there */
	int64_t shift_ms;    /* out: add to a time in the vendor's audio for the time in
				the joined audio */
};

/* An HTTP request a vendor builds; the caller frees every string. */
struct tts_http {
	char *url, *body;
	char *headers[4];
	size_t n_headers;
};

/* A tts provider. The vendors (fish, openai, elevenlabs) are spoken to over
 * HTTP on the loop: each function takes the vendor's own settings (cfg, the
 * struct its info.options fill). "offline" and "espeak" have no functions:
 * the plugin's espeak engine speaks for them. */
struct tts_provider {
	struct provider_info info;
	/* The most characters one request may carry. */
	long (*max_chars)(const void *cfg);
	/* The model asked for, as provider_calls records it. */
	const char *(*model)(const void *cfg);
	/* The request speaking text with voice (NULL: the vendor's default). */
	void (*build)(const void *cfg, const char *text, const char *language, const char *voice, struct tts_http *out);
	/* Reads a 2xx answer. 0, or -1 with err when it is not what the protocol
	 * promises. */
	int (*read)(const void *cfg, const char *body, size_t len, struct tts_audio *out, char *err, size_t errlen);
	/* A readable message from an error answer. */
	void (*error_text)(const char *body, size_t len, char *out, size_t outlen);
};

/* The offline speech engine the plugin holds. */
struct tts_engine {
	const char *name;
	/* Writes the narration as audio to out_path. Blocking; runs on the thread
	 * pool, so it must be safe to call from several threads. A tts_outcome,
	 * with err when it is not TTS_OK. */
	int (*synthesize)(const struct tts_request *rq, const char *out_path, struct tts_result *res, char *err,
			  size_t errlen);
	/* 0 when voice (a catalogue id: "en-us+f3") loads on the installed
	 * engine, else -1 with err. Thread-safe; may wait for a synthesis the
	 * first time a voice is asked about. */
	int (*check_voice)(const char *voice, char *err, size_t errlen);
};

/* "zh" when the text is mostly CJK ideographs, "ja" when it holds kana, else
 * "en". */
const char *language_detect(const char *text);

/* The stage's providers (tts-worker/providers/registry.c). */
extern const struct provider_registry tts_registry;
/* The provider called name, or NULL. */
const struct tts_provider *tts_provider_find(const char *name);
/* The HTTP vendor called name, or NULL ("espeak" and "offline" are not vendors). */
const struct tts_provider *tts_provider_find_vendor(const char *name);
/* Each vendor's own settings from the environment, in tts_registry's order
 * (NULL for a provider without options); NULL with err naming the variable. */
void **tts_provider_configs_load(char *err, size_t errlen);
/* The settings of p among cfgs. */
const void *tts_provider_config(void *const *cfgs, const struct tts_provider *p);
void tts_provider_configs_free(void **cfgs);
/* Frees what a vendor's read put in a. */
void tts_provider_audio_release(struct tts_audio *a);

/* Offline speech with libespeak-ng; defined in the tts-worker plugin. */
extern const struct tts_engine tts_espeak_engine;
/* Decodes each part (any format libavformat reads, or raw PCM), trims its
 * silence, joins them with a short crossfade at 48 kHz mono and writes a WAV
 * to out_path, filling each part's placement. Defined in the plugin;
 * blocking. 0, or -1 with err saying which part and why. */
int tts_decode_assemble(struct tts_part *parts, size_t n, const char *out_path, struct tts_result *res, char *err,
			size_t errlen) WARN_UNUSED;

#endif
