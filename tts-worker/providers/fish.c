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

#define PCM_RATE 44100

static long max_chars(const struct tts_settings *s)
{
	return s->fish_max_chars;
}

static const char *model(const struct tts_settings *s)
{
	return s->fish_model;
}

static void build(const struct tts_settings *s, const char *text, const char *language, const char *voice,
		  struct tts_http *out)
{
	cJSON *body = cJSON_CreateObject();
	(void)language; /* Fish reads the language from the text */
	cJSON_AddStringToObject(body, "text", text);
	if (voice && *voice)
		cJSON_AddStringToObject(body, "reference_id", voice);
	cJSON_AddStringToObject(body, "format", s->fish_format);
	if (strcmp(s->fish_format, "pcm") == 0)
		cJSON_AddNumberToObject(body, "sample_rate", PCM_RATE);
	cJSON_AddStringToObject(body, "latency", "normal");
	out->body = json_print(body);
	cJSON_Delete(body);
	out->url = xasprintf("%s/v1/tts", s->fish_base_url);
	out->headers[out->n_headers++] = xstrdup("Content-Type: application/json");
	out->headers[out->n_headers++] = xasprintf("model: %s", s->fish_model);
	if (s->fish_api_key && *s->fish_api_key)
		out->headers[out->n_headers++] = xasprintf("Authorization: Bearer %s", s->fish_api_key);
}

static int read_answer(const struct tts_settings *s, const char *body, size_t len, struct tts_audio *out, char *err,
		       size_t errlen)
{
	(void)err;
	(void)errlen;
	return tts_vendor_take_body(body, len, strcmp(s->fish_format, "pcm") == 0 ? PCM_RATE : 0, out);
}

const struct tts_vendor tts_fish = {
	.name = "fish",
	.key_var = "FISH_API_KEY",
	.max_chars = max_chars,
	.model = model,
	.build = build,
	.read = read_answer,
	.error_text = tts_vendor_error_text,
};
