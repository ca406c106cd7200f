/*
 * cJSON helpers.
 */
#include "json.h"

#include <math.h>
#include <stdlib.h>

#include "banned.h"

const char *json_str(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

int json_int(const cJSON *obj, const char *name, long *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || fabs(it->valuedouble) > 9.0e15)
		return -1;
	*out = (long)it->valuedouble;
	return 0;
}

cJSON *json_parse(const char *buf, size_t len)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (!j)
		return NULL;
	/* cJSON stops after the first value; trailing bytes other than space are an error. */
	while (end && end < buf + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (!end || end < buf + len) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

char *json_print(const cJSON *item)
{
	char *s = cJSON_PrintUnformatted(item);
	if (!s)
		abort();
	return s;
}
