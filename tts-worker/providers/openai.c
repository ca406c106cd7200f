/*
 * OpenAI speech: POST {OPENAI_BASE_URL}/audio/speech with model, input,
 * voice and response_format; the answer is the audio itself (pcm is 24 kHz
 * 16-bit mono). Servers that copy the API (self-hosted gateways) work too.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "tts_vendor.h"
#include "banned.h"

/* What openai's functions read: its own options. */
struct openai_settings {
	char *base_url, *api_key, *model, *format;
	long max_chars;
};

#define OPT(env, type, def, flags, field, min, max, help) \
	PROVIDER_OPT(struct openai_settings, env, type, def, flags, field, min, max, help)
static const struct config_option options[] = {
	OPT("OPENAI_BASE_URL", CONFIG_STRING, "https://api.openai.com/v1", 0, base_url, 0, 0,
	    "OpenAI-compatible API base, /v1 included"),
	OPT("OPENAI_API_KEY", CONFIG_STRING, NULL, CONFIG_SECRET, api_key, 0, 0, "key for the openai provider"),
	OPT("REEL_TTS_OPENAI_MODEL", CONFIG_STRING, "tts-1", 0, model, 0, 0, "OpenAI speech model"),
	OPT("REEL_TTS_OPENAI_FORMAT", CONFIG_STRING, "mp3", 0, format, 0, 0, "mp3, opus, aac, flac, wav or pcm"),
	OPT("REEL_TTS_OPENAI_MAX_CHARS", CONFIG_INT, "4096", 0, max_chars, 20, 4096,
	    "longest text of one OpenAI speech request"),
	{ 0 },
};

#define DEFAULT_VOICE "alloy"
#define PCM_RATE 24000

static long max_chars(const void *cfg)
{
	const struct openai_settings *s = cfg;
	return s->max_chars;
}

static const char *model(const void *cfg)
{
	const struct openai_settings *s = cfg;
	return s->model;
}

static void build(const void *cfg, const char *text, const char *language, const char *voice, struct tts_http *out)
{
	const struct openai_settings *s = cfg;
	cJSON *body = cJSON_CreateObject();
	(void)language; /* the voices speak the language of the input */
	cJSON_AddStringToObject(body, "model", s->model);
	cJSON_AddStringToObject(body, "input", text);
	cJSON_AddStringToObject(body, "voice", voice && *voice ? voice : DEFAULT_VOICE);
	cJSON_AddStringToObject(body, "response_format", s->format);
	out->body = json_print(body);
	cJSON_Delete(body);
	out->url = xasprintf("%s/audio/speech", s->base_url);
	out->headers[out->n_headers++] = xstrdup("Content-Type: application/json");
	if (s->api_key && *s->api_key)
		out->headers[out->n_headers++] = xasprintf("Authorization: Bearer %s", s->api_key);
}

static int read_answer(const void *cfg, const char *body, size_t len, struct tts_audio *out, char *err, size_t errlen)
{
	const struct openai_settings *s = cfg;
	(void)err;
	(void)errlen;
	return tts_provider_take_body(body, len, strcmp(s->format, "pcm") == 0 ? PCM_RATE : 0, out);
}

const struct tts_provider tts_openai = {
	.info = { .name = "openai",
		  .summary = "OpenAI speech (or a server copying its API)",
		  .key_var = "OPENAI_API_KEY",
		  .options = options,
		  .config_size = sizeof(struct openai_settings) },
	.max_chars = max_chars,
	.model = model,
	.build = build,
	.read = read_answer,
	.error_text = tts_provider_error_text,
};
