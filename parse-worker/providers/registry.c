/*
 * The parse providers by name, and what the vendors' wire formats share:
 * both put a readable message at error.message of an error answer, and
 * both take messages as {role, content} objects.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "parse_provider.h"
#include "banned.h"

static const struct parse_provider *const all[] = { &parse_offline, &parse_openai, &parse_anthropic };

const struct parse_provider *parse_provider_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(all); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

void parse_vendor_error_text(const char *body, size_t len, char *out, size_t outlen)
{
	cJSON *j = json_parse(body, len);
	const char *msg = json_str(cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
	if (msg)
		snprintf(out, outlen, "%s", msg);
	else /* not the vendor's error shape (a proxy's page...): its start says enough */
		snprintf(out, outlen, "%.*s", len > 200 ? 200 : (int)len, body);
	cJSON_Delete(j);
}

void parse_vendor_message(cJSON *messages, const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddStringToObject(m, "content", content);
	cJSON_AddItemToArray(messages, m);
}
