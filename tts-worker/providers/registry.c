/*
 * The tts providers' registry, and what their answers share: an audio body
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

/* espeak-ng in the plugin speaks for these two. */
static const struct tts_provider tts_offline = {
	.info = { .name = "offline", .summary = "espeak-ng on this machine (the same as espeak)" },
};
static const struct tts_provider tts_espeak = {
	.info = { .name = "espeak", .summary = "espeak-ng on this machine, voices from the voices table" },
};

/* The registry: one line per provider (and its name among the externs). */
extern const struct tts_provider tts_fish, tts_openai, tts_elevenlabs;
static const struct provider_info *const all[] = {
	&tts_offline.info, &tts_espeak.info, &tts_fish.info, &tts_openai.info, &tts_elevenlabs.info,
};
const struct provider_registry tts_registry = { "tts", all, ARRAY_SIZE(all) };

const struct tts_provider *tts_provider_find(const char *name)
{
	const struct provider_info *i = provider_find(&tts_registry, name);
	return i ? provider_of(struct tts_provider, i) : NULL;
}

const struct tts_provider *tts_provider_find_vendor(const char *name)
{
	const struct tts_provider *p = tts_provider_find(name);
	return p && p->build ? p : NULL;
}

void **tts_provider_configs_load(char *err, size_t errlen)
{
	void **cfgs = xcalloc(tts_registry.n, sizeof(*cfgs));
	for (size_t i = 0; i < tts_registry.n; i++) {
		if (!tts_registry.list[i]->config_size)
			continue;
		cfgs[i] = provider_config_load(tts_registry.list[i], err, errlen);
		if (!cfgs[i]) {
			tts_provider_configs_free(cfgs);
			return NULL;
		}
	}
	return cfgs;
}

const void *tts_provider_config(void *const *cfgs, const struct tts_provider *p)
{
	for (size_t i = 0; i < tts_registry.n; i++)
		if (tts_registry.list[i] == &p->info)
			return cfgs[i];
	return NULL;
}

void tts_provider_configs_free(void **cfgs)
{
	for (size_t i = 0; cfgs && i < tts_registry.n; i++)
		provider_config_free(tts_registry.list[i], cfgs[i]);
	free(cfgs);
}

void tts_provider_audio_release(struct tts_audio *a)
{
	free(a->data);
	for (size_t i = 0; i < a->n_words; i++)
		free(a->words[i].text);
	free(a->words);
	*a = (struct tts_audio){ 0 };
}

int tts_provider_take_body(const char *body, size_t len, int raw_rate, struct tts_audio *out)
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

void tts_provider_error_text(const char *body, size_t len, char *out, size_t outlen)
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

int tts_provider_pcm_rate(const char *format, const char *prefix, int fallback)
{
	size_t n = strlen(prefix);
	if (strncmp(format, prefix, n) != 0)
		return 0;
	return format[n] == '_' ? atoi(format + n + 1) : fallback;
}
