/*
 * Lookups in the generated table of provider names (see providers.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "providers.h"
#include "banned.h"

const char *const *providers_of(const char *stage)
{
	for (const struct providers_stage *s = providers_stages; s->stage; s++)
		if (strcmp(stage, s->stage) == 0)
			return s->names;
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
