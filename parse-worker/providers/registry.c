/*
 * The parse providers' registry, and what the vendors' wire formats share:
 * both put a readable message at error.message of an error answer, and
 * both take messages as {role, content} objects.
 */
#include <stdio.h>

#include "json.h"
#include "parse_provider.h"
#include "banned.h"

/* The registry: one line per provider (and its name among the externs). */
extern const struct parse_provider parse_openai, parse_anthropic;
static const struct provider_info *const all[] = {
	&parse_offline.info,
	&parse_openai.info,
	&parse_anthropic.info,
};
const struct provider_registry parse_registry = { "parse", all, ARRAY_SIZE(all) };

const struct parse_provider *parse_provider_find(const char *name)
{
	const struct provider_info *i = provider_find(&parse_registry, name);
	return i ? provider_of(struct parse_provider, i) : NULL;
}

void parse_provider_error_text(const char *body, size_t len, char *out, size_t outlen)
{
	cJSON *j = json_parse(body, len);
	const char *msg = json_str(cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
	if (msg)
		snprintf(out, outlen, "%s", msg);
	else /* not the vendor's error shape (a proxy's page...): its start says enough */
		snprintf(out, outlen, "%.*s", len > 200 ? 200 : (int)len, body);
	cJSON_Delete(j);
}

void parse_provider_message(cJSON *messages, const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddStringToObject(m, "content", content);
	cJSON_AddItemToArray(messages, m);
}
