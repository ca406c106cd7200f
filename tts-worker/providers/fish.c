/*
 * Fish Audio: POST {FISH_BASE_URL}/v1/tts with a JSON TTSRequest; the voice
 * is a reference_id (a voice model). The answer is the audio itself, in the
 * format asked for (mp3 by default; pcm is 16-bit mono at sample_rate).
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "tts_vendor.h"
#include "banned.h"

/* What fish's functions read: its own options. */
struct fish_settings {
	char *base_url, *api_key, *model, *format;
	long max_chars;
};

#define OPT(env, type, def, flags, field, min, max, help) \
	PROVIDER_OPT(struct fish_settings, env, type, def, flags, field, min, max, help)
static const struct config_option options[] = {
	OPT("FISH_BASE_URL", CONFIG_STRING, "https://api.fish.audio", 0, base_url, 0, 0,
	    "Fish Audio API base, without /v1"),
	OPT("FISH_API_KEY", CONFIG_STRING, NULL, CONFIG_SECRET, api_key, 0, 0, "key for the fish provider"),
	OPT("REEL_TTS_FISH_MODEL", CONFIG_STRING, "s1", 0, model, 0, 0, "Fish Audio model header"),
	OPT("REEL_TTS_FISH_FORMAT", CONFIG_STRING, "mp3", 0, format, 0, 0, "mp3, wav, pcm or opus"),
	OPT("REEL_TTS_FISH_MAX_CHARS", CONFIG_INT, "1000", 0, max_chars, 20, 100000,
	    "longest text of one Fish Audio request"),
	{ 0 },
};

#define PCM_RATE 44100

static long max_chars(const void *cfg)
{
	const struct fish_settings *s = cfg;
	return s->max_chars;
}

static const char *model(const void *cfg)
{
	const struct fish_settings *s = cfg;
	return s->model;
}

static void build(const void *cfg, const char *text, const char *language, const char *voice, struct tts_http *out)
{
	const struct fish_settings *s = cfg;
	cJSON *body = cJSON_CreateObject();
	(void)language; /* Fish reads the language from the text */
	cJSON_AddStringToObject(body, "text", text);
	if (voice && *voice)
		cJSON_AddStringToObject(body, "reference_id", voice);
	cJSON_AddStringToObject(body, "format", s->format);
	if (strcmp(s->format, "pcm") == 0)
		cJSON_AddNumberToObject(body, "sample_rate", PCM_RATE);
	cJSON_AddStringToObject(body, "latency", "normal");
	out->body = json_print(body);
	cJSON_Delete(body);
	out->url = xasprintf("%s/v1/tts", s->base_url);
	out->headers[out->n_headers++] = xstrdup("Content-Type: application/json");
	out->headers[out->n_headers++] = xasprintf("model: %s", s->model);
	if (s->api_key && *s->api_key)
		out->headers[out->n_headers++] = xasprintf("Authorization: Bearer %s", s->api_key);
}

static int read_answer(const void *cfg, const char *body, size_t len, struct tts_audio *out, char *err, size_t errlen)
{
	const struct fish_settings *s = cfg;
	(void)err;
	(void)errlen;
	return tts_provider_take_body(body, len, strcmp(s->format, "pcm") == 0 ? PCM_RATE : 0, out);
}

const struct tts_provider tts_fish = {
	.info = { .name = "fish",
		  .summary = "Fish Audio text-to-speech",
		  .key_var = "FISH_API_KEY",
		  .options = options,
		  .config_size = sizeof(struct fish_settings) },
	.max_chars = max_chars,
	.model = model,
	.build = build,
	.read = read_answer,
	.error_text = tts_provider_error_text,
};
