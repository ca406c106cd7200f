/*
 * The tts vendors by name, and what their answers share: an audio body
 * taken as it came, and error bodies whose message sits in one of a few
 * places ({"message"}, {"error":{"message"}}, {"detail":{"message"}},
 * {"detail":[{"msg"}]}).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tts.h"
#include "tts_vendor.h"
#include "banned.h"

static const struct tts_vendor *const all[] = { &tts_fish, &tts_openai, &tts_elevenlabs };

const struct tts_vendor *tts_vendor_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(all); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

void tts_audio_release(struct tts_audio *a)
{
	free(a->data);
	for (size_t i = 0; i < a->n_words; i++)
		free(a->words[i].text);
	free(a->words);
	*a = (struct tts_audio){ 0 };
}

int tts_vendor_take_body(const char *body, size_t len, int raw_rate, struct tts_audio *out)
{
	out->data = xmalloc(len + 1);
	memcpy(out->data, body, len);
	out->len = len;
	out->raw_rate = raw_rate;
	return 0;
}

static const char *message_in(const cJSON *j)
{
	const cJSON *detail = cJSON_GetObjectItemCaseSensitive(j, "detail");
	const char *m = json_str(j, "message");
	if (!m)
		m = json_str(cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
	if (!m && cJSON_IsString(detail))
		m = detail->valuestring;
	if (!m)
		m = json_str(detail, "message");
	if (!m)
		m = json_str(cJSON_GetArrayItem(cJSON_IsArray(detail) ? detail : j, 0), "msg");
	return m;
}

void tts_vendor_error_text(const char *body, size_t len, char *out, size_t outlen)
{
	cJSON *j = json_parse(body, len);
	const char *msg = j ? message_in(j) : NULL;
	if (msg)
		snprintf(out, outlen, "%s", msg);
	else /* not the vendor's error shape (a proxy's page...): its start says
		enough */
		snprintf(out, outlen, "%.*s", len > 200 ? 200 : (int)len, body);
	cJSON_Delete(j);
}

int tts_vendor_pcm_rate(const char *format, const char *prefix, int fallback)
{
	size_t n = strlen(prefix);
	if (strncmp(format, prefix, n) != 0)
		return 0;
	return format[n] == '_' ? atoi(format + n + 1) : fallback;
}
