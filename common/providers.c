/*
 * The provider names of every stage (see providers.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "providers.h"
#include "banned.h"

static const char *const parse[] = { "offline", "openai", "anthropic", NULL };
static const char *const render[] = { "offline", "replicate", "fal", "comfyui", NULL };
static const char *const tts[] = { "offline", "espeak", "fish", "openai", "elevenlabs", NULL };
static const char *const merge[] = { "offline", "ffmpeg", NULL };

static const struct {
	const char *stage;
	const char *const *names;
} stages[] = { { "parse", parse }, { "render", render }, { "tts", tts }, { "merge", merge } };

const char *const *providers_of(const char *stage)
{
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
		if (strcmp(stage, stages[i].stage) == 0)
			return stages[i].names;
	return NULL;
}

const char *providers_list(const char *stage, char *buf, size_t len)
{
	const char *const *names = providers_of(stage);
	size_t used = 0;
	buf[0] = '\0';
	for (; names && *names && used < len; names++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", *names);
	return buf;
}
