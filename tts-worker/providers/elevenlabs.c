/*
 * ElevenLabs: POST
 * {ELEVENLABS_BASE_URL}/v1/text-to-speech/{voice}/with-timestamps
 * ?output_format=... with the key in xi-api-key. The answer is JSON: the audio
 * in base64 and a character alignment (start and end second of each
 * character), which becomes word timings.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "errbuf.h"
#include "json.h"
#include "tts_vendor.h"
#include "banned.h"

/* What elevenlabs's functions read: its own options. */
struct elevenlabs_settings {
	char *base_url, *api_key, *model, *format;
	long max_chars;
};

#define OPT(env, type, def, flags, field, min, max, help) \
	PROVIDER_OPT(struct elevenlabs_settings, env, type, def, flags, field, min, max, help)
static const struct config_option options[] = {
	OPT("ELEVENLABS_BASE_URL", CONFIG_STRING, "https://api.elevenlabs.io", 0, base_url, 0, 0,
	    "ElevenLabs API base, without /v1"),
	OPT("ELEVENLABS_API_KEY", CONFIG_STRING, NULL, CONFIG_SECRET, api_key, 0, 0, "key for the elevenlabs provider"),
	OPT("REEL_TTS_ELEVENLABS_MODEL", CONFIG_STRING, "eleven_multilingual_v2", 0, model, 0, 0,
	    "ElevenLabs model_id"),
	OPT("REEL_TTS_ELEVENLABS_FORMAT", CONFIG_STRING, "mp3_44100_128", 0, format, 0, 0,
	    "output_format: codec_samplerate[_bitrate], e.g. mp3_44100_128, pcm_24000"),
	OPT("REEL_TTS_ELEVENLABS_MAX_CHARS", CONFIG_INT, "5000", 0, max_chars, 20, 100000,
	    "longest text of one ElevenLabs request"),
	{ 0 },
};

#define DEFAULT_VOICE "21m00Tcm4TlvDq8ikWAM" /* "Rachel", a premade voice every account has */

static long max_chars(const void *cfg)
{
	const struct elevenlabs_settings *s = cfg;
	return s->max_chars;
}

static const char *model(const void *cfg)
{
	const struct elevenlabs_settings *s = cfg;
	return s->model;
}

/* The voice as one URL path segment: anything but [A-Za-z0-9_-]
 * percent-encoded. */
static char *path_segment(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(strlen(s) * 3 + 1), *o = out;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? 1 : (c >= '0' && c <= '9') || c == '-' || c == '_') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

static void build(const void *cfg, const char *text, const char *language, const char *voice, struct tts_http *out)
{
	const struct elevenlabs_settings *s = cfg;
	cJSON *body = cJSON_CreateObject();
	char *escaped = path_segment(voice && *voice ? voice : DEFAULT_VOICE);
	cJSON_AddStringToObject(body, "text", text);
	cJSON_AddStringToObject(body, "model_id", s->model);
	/* Only the v2.5 models accept language_code; the others refuse the request. */
	if (language && *language && strlen(language) <= 3 && strstr(s->model, "v2_5"))
		cJSON_AddStringToObject(body, "language_code", language);
	out->body = json_print(body);
	cJSON_Delete(body);
	out->url = xasprintf("%s/v1/text-to-speech/%s/with-timestamps?output_format=%s", s->base_url, escaped,
			     s->format);
	free(escaped);
	out->headers[out->n_headers++] = xstrdup("Content-Type: application/json");
	if (s->api_key && *s->api_key)
		out->headers[out->n_headers++] = xasprintf("xi-api-key: %s", s->api_key);
}

static int decode_base64(const char *in, struct tts_audio *out)
{
	size_t len = strlen(in);
	if (len == 0) /* no audio at all: the caller says so */
		return 0;
	out->data = (char *)base64_decode(in, len, false, &out->len);
	return out->data ? 0 : -1;
}

static bool word_break(const char *c)
{
	/* Spaces separate words; CJK text has none, so its punctuation ends a span.
	 */
	static const char *const marks[] = { "\xe3\x80\x82", "\xef\xbc\x8c", "\xef\xbc\x81",
					     "\xef\xbc\x9f", "\xe3\x80\x81", "\xef\xbc\x9b" };
	if (strchr(" \t\r\n", c[0]))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(marks); i++)
		if (strcmp(c, marks[i]) == 0)
			return true;
	return false;
}

static void add_word(struct tts_audio *out, const char *text, size_t len, double from, double to)
{
	out->words = xrealloc(out->words, (out->n_words + 1) * sizeof(*out->words));
	out->words[out->n_words++] = (struct tts_timing){ (int64_t)(from * 1000 + 0.5), (int64_t)(to * 1000 + 0.5),
							  xstrndup(text, len) };
}

/* Groups the aligned characters into words. -1 when the arrays disagree. */
static int read_alignment(const cJSON *al, struct tts_audio *out)
{
	const cJSON *chars = cJSON_GetObjectItemCaseSensitive(al, "characters");
	const cJSON *starts = cJSON_GetObjectItemCaseSensitive(al, "character_start_times_seconds");
	const cJSON *ends = cJSON_GetObjectItemCaseSensitive(al, "character_end_times_seconds");
	int n = cJSON_GetArraySize(chars);
	char word[1024];
	size_t wlen = 0;
	double from = 0, to = 0;
	if (!cJSON_IsArray(chars) || cJSON_GetArraySize(starts) != n || cJSON_GetArraySize(ends) != n)
		return -1;
	for (int i = 0; i < n; i++) {
		const cJSON *c = cJSON_GetArrayItem(chars, i), *a = cJSON_GetArrayItem(starts, i),
			    *b = cJSON_GetArrayItem(ends, i);
		if (!cJSON_IsString(c) || !cJSON_IsNumber(a) || !cJSON_IsNumber(b))
			return -1;
		bool brk = word_break(c->valuestring), space = strchr(" \t\r\n", c->valuestring[0]) != NULL;
		size_t clen = strlen(c->valuestring);
		if (!space && wlen + clen < sizeof(word)) {
			if (wlen == 0)
				from = a->valuedouble;
			memcpy(word + wlen, c->valuestring, clen);
			wlen += clen;
			to = b->valuedouble;
		}
		if ((brk || i == n - 1) && wlen) {
			add_word(out, word, wlen, from, to);
			wlen = 0;
		}
	}
	return 0;
}

static int read_answer(const void *cfg, const char *body, size_t len, struct tts_audio *out, char *err, size_t errlen)
{
	const struct elevenlabs_settings *s = cfg;
	cJSON *j = json_parse(body, len);
	const char *audio = json_str(j, "audio_base64");
	const cJSON *al = cJSON_GetObjectItemCaseSensitive(j, "alignment");
	int rc = 0;
	if (!audio)
		rc = errbuf_set(err, errlen, "the answer has no audio_base64");
	else if (decode_base64(audio, out) < 0)
		rc = errbuf_set(err, errlen, "audio_base64 is not valid base64");
	else if (al && !cJSON_IsNull(al) && read_alignment(al, out) < 0)
		rc = errbuf_set(err, errlen, "the alignment's arrays do not match");
	out->raw_rate = tts_provider_pcm_rate(s->format, "pcm", 44100);
	cJSON_Delete(j);
	return rc;
}

const struct tts_provider tts_elevenlabs = {
	.info = { .name = "elevenlabs",
		  .summary = "ElevenLabs text-to-speech, with word timings",
		  .key_var = "ELEVENLABS_API_KEY",
		  .options = options,
		  .config_size = sizeof(struct elevenlabs_settings) },
	.max_chars = max_chars,
	.model = model,
	.build = build,
	.read = read_answer,
	.error_text = tts_provider_error_text,
};
