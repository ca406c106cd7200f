/*
 * Table-driven environment configuration.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"
#include "log.h"
#include "str.h"
#include "banned.h"

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -1;
}

static int load_one(const struct config_option *o, void *dst, char *err, size_t errlen)
{
	const char *v = getenv(o->name);
	char *field = (char *)dst + o->offset;

	if (!v || !*v)
		v = o->def;
	if ((!v || !*v) && (o->flags & CONFIG_REQUIRED))
		return errbuf_set(err, errlen, "%s is required: %s", o->name, o->help);
	switch (o->type) {
	case CONFIG_STRING: *(char **)field = v ? xstrdup(v) : NULL; return 0;
	case CONFIG_BOOL:
		if (!v)
			return *(bool *)field = false, 0;
		if (parse_bool(v, (bool *)field) < 0)
			return errbuf_set(err, errlen, "%s=%s is not a boolean (use 1/0, true/false)", o->name, v);
		return 0;
	case CONFIG_INT: {
		char *end;
		long n;
		if (!v)
			return *(long *)field = 0, 0;
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end)
			return errbuf_set(err, errlen, "%s=%s is not a whole number", o->name, v);
		if (n < o->min || n > o->max)
			return errbuf_set(err, errlen, "%s=%ld is out of range %ld..%ld", o->name, n, o->min, o->max);
		*(long *)field = n;
		return 0;
	}
	}
	return errbuf_set(err, errlen, "%s: unknown option type", o->name);
}

int config_load(const struct config_option *opts, size_t n, void *dst, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (load_one(&opts[i], dst, err, errlen) < 0) {
			config_release(opts, i, dst);
			return -1;
		}
	return 0;
}

/* Masks the password of a URL's user info ("scheme://user:pw@host"). */
static void mask_url(const char *v, char *out, size_t outlen)
{
	const char *scheme = strstr(v, "://"), *host_end, *at = NULL, *colon;
	str_copy(out, v, outlen);
	if (!scheme)
		return;
	host_end = scheme + 3 + strcspn(scheme + 3, "/?#");
	for (const char *p = scheme + 3; p < host_end; p++)
		if (*p == '@')
			at = p;
	colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
	if (colon)
		snprintf(out, outlen, "%.*s:****%s", (int)(colon - v), v, at);
}

/* Masks the value of a libpq conninfo "password = value" pair, quoted or not. */
static void mask_conninfo(char *s)
{
	for (char *p = strstr(s, "password"); p; p = strstr(p + 1, "password")) {
		char *q = p + 8;
		if (p != s && p[-1] != ' ')
			continue;
		while (*q == ' ')
			q++;
		if (*q != '=')
			continue;
		for (q++; *q == ' '; q++)
			;
		char *end = q;
		if (*q == '\'')
			for (end++; *end && *end != '\''; end += (*end == '\\' && end[1]) ? 2 : 1)
				;
		else
			end += strcspn(q, " ");
		if (*end == '\'')
			end++;
		/* Replace the value with "****", keeping what follows. */
		size_t tail = strlen(end) + 1;
		if (end - q >= 4) {
			memcpy(q, "****", 4);
			memmove(q + 4, end, tail);
		} else {
			memset(q, '*', (size_t)(end - q));
		}
	}
}

static void mask_value(const struct config_option *o, const char *v, char *out, size_t outlen)
{
	if (o->flags & CONFIG_SECRET) {
		str_copy(out, *v ? "****" : "", outlen);
		return;
	}
	mask_url(v, out, outlen);
	mask_conninfo(out);
}

void config_log(const struct config_option *opts, size_t n, const void *dst)
{
	char line[4096], val[512];
	size_t pos = 0;
	for (size_t i = 0; i < n && pos < sizeof(line) - 1; i++) {
		const struct config_option *o = &opts[i];
		const char *field = (const char *)dst + o->offset;
		switch (o->type) {
		case CONFIG_STRING:
			mask_value(o, *(char *const *)field ? *(char *const *)field : "", val, sizeof(val));
			break;
		case CONFIG_BOOL: str_copy(val, *(const bool *)field ? "true" : "false", sizeof(val)); break;
		case CONFIG_INT: snprintf(val, sizeof(val), "%ld", *(const long *)field); break;
		}
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%s%s=%s", i ? " " : "", o->name, val);
	}
	log_info("config: %s", line);
}

void config_release(const struct config_option *opts, size_t n, void *dst)
{
	for (size_t i = 0; i < n; i++)
		if (opts[i].type == CONFIG_STRING) {
			char **p = (char **)((char *)dst + opts[i].offset);
			free(*p);
			*p = NULL;
		}
}
