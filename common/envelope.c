/*
 * Encoding and validation of the stage messages. Values come from the
 * network, so every field is checked before anyone uses it.
 */
#include "envelope.h"

#include <stdio.h>
#include <string.h>

#include "errbuf.h"
#include "json.h"
#include "str.h"
#include "banned.h"

static int valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= ENVELOPE_ID_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '-' ||
		      *s == '_'))
			return 0;
	return 1;
}

static int decode_fields(const cJSON *j, struct envelope *env, char *err, size_t errlen)
{
	const char *job = json_str(j, "job"), *trace = json_str(j, "trace");
	long v, shot = -1, attempt = 1;

	if (json_int(j, "v", &v) < 0 || v != 1)
		return errbuf_set(err, errlen, "unsupported message version");
	if (!job || !valid_id(job))
		return errbuf_set(err, errlen, "message has no valid job id");
	if (cJSON_HasObjectItem(j, "shot") && (json_int(j, "shot", &shot) < 0 || shot < 0 || shot > 100000))
		return errbuf_set(err, errlen, "message has an invalid shot index");
	if (cJSON_HasObjectItem(j, "attempt") &&
	    (json_int(j, "attempt", &attempt) < 0 || attempt < 1 || attempt > 1000))
		return errbuf_set(err, errlen, "message has an invalid attempt");
	if (trace && *trace && !valid_id(trace))
		return errbuf_set(err, errlen, "message has an invalid trace id");
	str_copy(env->job, job, sizeof(env->job));
	str_copy(env->trace, trace ? trace : "", sizeof(env->trace));
	env->shot = (int)shot;
	env->attempt = (int)attempt;
	return 0;
}

int envelope_decode(const char *buf, size_t len, struct envelope *env, char *err, size_t errlen)
{
	cJSON *j;
	int rc;

	if (!buf || len == 0)
		return errbuf_set(err, errlen, "empty message");
	j = json_parse(buf, len);
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return errbuf_set(err, errlen, "message is not a JSON object");
	}
	rc = decode_fields(j, env, err, errlen);
	cJSON_Delete(j);
	return rc;
}

int envelope_encode(const struct envelope *env, char *out, size_t outlen)
{
	int n;
	if (env->shot >= 0)
		n = snprintf(out, outlen, "{\"v\":1,\"job\":\"%s\",\"shot\":%d,\"attempt\":%d,\"trace\":\"%s\"}",
			     env->job, env->shot, env->attempt, env->trace);
	else
		n = snprintf(out, outlen, "{\"v\":1,\"job\":\"%s\",\"attempt\":%d,\"trace\":\"%s\"}", env->job,
			     env->attempt, env->trace);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

void envelope_key(const struct envelope *env, char *out, size_t outlen)
{
	if (env->shot >= 0)
		snprintf(out, outlen, "%s:%d", env->job, env->shot);
	else
		snprintf(out, outlen, "%s", env->job);
}
