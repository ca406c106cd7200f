/*
 * cJSON helpers.
 */
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

const char *json_str(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

int json_whole(const cJSON *it, long *out)
{
	if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || fabs(it->valuedouble) > 9.0e15)
		return -1;
	*out = (long)it->valuedouble;
	return 0;
}

int json_int(const cJSON *obj, const char *name, long *out)
{
	return json_whole(cJSON_GetObjectItemCaseSensitive(obj, name), out);
}

/* Length of the UTF-8 sequence at s (n bytes left), 0 when it is not one:
 * overlong forms, surrogates and code points past U+10FFFF are refused. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80                    ? 1
		     : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
		     : (s[0] & 0xf0) == 0xe0        ? 3
		     : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
						    : 0;
	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

/* Whether the text holds a \u0000 escape: no C string and no jsonb value can
 * carry that character, so a string would silently end there. */
static bool has_nul_escape(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (buf[i] == '\\') {
			if (buf[i + 1] == 'u' && i + 6 <= len && !memcmp(buf + i + 2, "0000", 4))
				return true;
			i++; /* the escaped character */
		}
	return false;
}

bool json_utf8_valid(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	for (size_t i = 0, k; i < len; i += k)
		if (!(k = utf8_seq(s + i, len - i)) || s[i] == 0)
			return false;
	return true;
}

cJSON *json_parse(const char *buf, size_t len)
{
	const char *end = NULL;
	/* JSON text is UTF-8 (RFC 8259); anything else would only fail later,
	 * in PostgreSQL, for a whole batch of requests at once. */
	if (!json_utf8_valid(buf, len) || has_nul_escape(buf, len))
		return NULL;
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

const cJSON *json_at(const cJSON *obj, const char *path)
{
	char step[64];
	while (obj && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(step))
			return NULL;
		memcpy(step, path, n);
		step[n] = '\0';
		path += n + (path[n] == '.');
		if (cJSON_IsArray(obj) && step[0] >= '0' && step[0] <= '9')
			obj = cJSON_GetArrayItem(obj, atoi(step));
		else
			obj = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, step) : NULL;
	}
	return obj;
}

const char *json_at_str(const cJSON *obj, const char *path)
{
	const cJSON *it = json_at(obj, path);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}
