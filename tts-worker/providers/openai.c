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

#define DEFAULT_VOICE "alloy"
#define PCM_RATE 24000

static long max_chars(const struct tts_settings *s)
{
	return s->openai_max_chars;
}

static const char *model(const struct tts_settings *s)
{
	return s->openai_model;
}

static void build(const struct tts_settings *s, const char *text, const char *language, const char *voice,
		  struct tts_http *out)
{
	cJSON *body = cJSON_CreateObject();
	(void)language; /* the voices speak the language of the input */
	cJSON_AddStringToObject(body, "model", s->openai_model);
	cJSON_AddStringToObject(body, "input", text);
	cJSON_AddStringToObject(body, "voice", voice && *voice ? voice : DEFAULT_VOICE);
	cJSON_AddStringToObject(body, "response_format", s->openai_format);
	out->body = json_print(body);
	cJSON_Delete(body);
	out->url = xasprintf("%s/audio/speech", s->openai_base_url);
	out->headers[out->n_headers++] = xstrdup("Content-Type: application/json");
	if (s->openai_api_key && *s->openai_api_key)
		out->headers[out->n_headers++] = xasprintf("Authorization: Bearer %s", s->openai_api_key);
}

static int read_answer(const struct tts_settings *s, const char *body, size_t len, struct tts_audio *out, char *err,
		       size_t errlen)
{
	(void)err;
	(void)errlen;
	return tts_vendor_take_body(body, len, strcmp(s->openai_format, "pcm") == 0 ? PCM_RATE : 0, out);
}

const struct tts_vendor tts_openai = {
	.name = "openai",
	.key_var = "OPENAI_API_KEY",
	.max_chars = max_chars,
	.model = model,
	.build = build,
	.read = read_answer,
	.error_text = tts_vendor_error_text,
};
