/*
 * Validation of job creation requests. Everything a client sends is checked
 * here, before anything touches the database: the template decides the
 * input's members, and the options follow one table of rules.
 */
#include "job_request.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "media.h"
#include "providers.h"
#include "storage.h"
#include "upload_ref.h"
#include "banned.h"

enum rule_kind { RULE_ENUM, RULE_TEXT, RULE_INT, RULE_BOOL, RULE_LANGUAGE, RULE_MUSIC, RULE_URL, RULE_PROVIDERS };

struct option_rule {
	const char *name;
	enum rule_kind kind;
	long min, max;             /* RULE_INT bounds; RULE_TEXT max bytes */
	const char *const *values; /* RULE_ENUM: NULL-terminated */
	const char *hint;          /* what a valid value looks like */
};

static const char *const aspects[] = { "9:16", "16:9", "1:1", "4:5", NULL };
static const char *const resolutions[] = { "720p", "1080p", NULL };
static const char *const subtitles[] = { "burn", "sidecar", "off", NULL };
static const char *const transitions[] = { "cut",       "fade",      "dissolve",   "wipeleft",
					   "wiperight", "slideleft", "slideright", NULL };
static const char *const motions[] = { "still", "i2v", NULL };

static const struct option_rule rules[] = {
	{ "aspect_ratio", RULE_ENUM, 0, 0, aspects, "one of 9:16, 16:9, 1:1, 4:5" },
	{ "resolution", RULE_ENUM, 0, 0, resolutions, "720p or 1080p" },
	{ "language", RULE_LANGUAGE, 0, 35, NULL, "a language tag such as en or zh-Hans (at most 35 bytes)" },
	{ "voice", RULE_TEXT, 0, 128, NULL, "a string of at most 128 bytes" },
	{ "style", RULE_TEXT, 0, 500, NULL, "a string of at most 500 bytes" },
	{ "max_shots", RULE_INT, 1, 60, NULL, "a whole number from 1 to 60" },
	{ "review", RULE_BOOL, 0, 0, NULL, "true or false" },
	{ "subtitles", RULE_ENUM, 0, 0, subtitles, "burn, sidecar or off" },
	{ "music", RULE_MUSIC, 0, 1024, NULL,
	  "calm, bright or pulse (bundled), upload:<id> of a ready music upload, a storage key (a/b.mp3), or null" },
	{ "transition", RULE_ENUM, 0, 0, transitions,
	  "one of cut, fade, dissolve, wipeleft, wiperight, slideleft, slideright" },
	{ "transition_ms", RULE_INT, 100, 2000, NULL, "a whole number of milliseconds from 100 to 2000" },
	{ "motion", RULE_ENUM, 0, 0, motions, "still or i2v" },
	{ "providers", RULE_PROVIDERS, 0, 0, NULL, "an object with optional parse, render, tts, merge names" },
	{ "webhook_url", RULE_URL, 0, JOB_URL_MAX, NULL, "an http or https URL of at most 2048 bytes" },
};

static const char *const templates[] = { "storyboard", "script", "demo" };
static const char *const top_fields[] = { "template", "input", "options" };
static const char *const text_fields[] = { "text" };
static const char *const demo_fields[] = { "url", "description" };
static const char *const stages[] = { "parse", "render", "tts", "merge" };

static int check_template(const cJSON *body, struct job_request *rq, struct api_problem *p)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "template");
	if (!t)
		return api_problem_invalid(p, "template", "template is required (one of: storyboard, script, demo)");
	if (!cJSON_IsString(t))
		return api_problem_invalid(p, "template", "template must be a string");
	for (size_t i = 0; i < ARRAY_SIZE(templates); i++)
		if (strcmp(t->valuestring, templates[i]) == 0) {
			rq->template = xstrdup(templates[i]);
			return 0;
		}
	return api_problem_set(p, 422, "invalid-field", "A field is invalid", "template",
			       "unknown template '%.64s' (one of: storyboard, script, demo)", t->valuestring);
}

/* True when s holds something besides white space. */
static int has_content(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 1;
	return 0;
}

/* A required, non-blank text member of in, at most JOB_TEXT_MAX bytes, copied to out. */
static int check_text(const cJSON *in, const char *name, cJSON *out, struct api_problem *p)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, name);
	char field[32];
	snprintf(field, sizeof(field), "input.%s", name);
	if (!v)
		return api_problem_set(p, 422, "invalid-field", "A field is invalid", field, "%s is required", field);
	if (!cJSON_IsString(v))
		return api_problem_set(p, 422, "invalid-field", "A field is invalid", field, "%s must be a string",
				       field);
	if (strlen(v->valuestring) > JOB_TEXT_MAX)
		return api_problem_set(p, 413, "too-large", "The text is too long", field,
				       "%s is %zu bytes; the limit is %d", field, strlen(v->valuestring), JOB_TEXT_MAX);
	if (!has_content(v->valuestring))
		return api_problem_set(p, 422, "invalid-field", "A field is invalid", field, "%s is empty", field);
	cJSON_AddStringToObject(out, name, v->valuestring);
	return 0;
}

static int check_demo_url(const cJSON *in, cJSON *out, struct api_problem *p)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, "url");
	if (!v)
		return api_problem_invalid(p, "input.url", "input.url is required (the product's web address)");
	if (!cJSON_IsString(v) || !job_request_url_ok(v->valuestring))
		return api_problem_invalid(p, "input.url",
					   "input.url must be an http or https URL of at most 2048 bytes");
	cJSON_AddStringToObject(out, "url", v->valuestring);
	return 0;
}

static int check_input(const cJSON *body, struct job_request *rq, struct api_problem *p)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input");
	int demo = strcmp(rq->template, "demo") == 0;
	if (!cJSON_IsObject(in))
		return api_problem_invalid(p, "input",
					   demo ? "input must be an object with url and description"
						: "input must be an object with a text field");
	if (demo ? api_problem_unknown_fields(in, "input.", demo_fields, ARRAY_SIZE(demo_fields), p) < 0
		 : api_problem_unknown_fields(in, "input.", text_fields, ARRAY_SIZE(text_fields), p) < 0)
		return -1;
	rq->input = cJSON_CreateObject();
	if (demo)
		return check_demo_url(in, rq->input, p) < 0 ? -1 : check_text(in, "description", rq->input, p);
	return check_text(in, "text", rq->input, p);
}

/* BCP-47-like: letters, then '-'-separated letters and digits, 1-8 each. */
static int language_ok(const char *s)
{
	size_t run = 0;
	int first = 1;
	for (const char *c = s; *c; c++) {
		if (*c == '-') {
			if (run == 0)
				return 0;
			run = 0;
			first = 0;
		} else if (isalpha((unsigned char)*c) || (!first && isdigit((unsigned char)*c))) {
			if (++run > 8)
				return 0;
		} else {
			return 0;
		}
	}
	return run > 0 && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]);
}

int job_request_url_ok(const char *s)
{
	size_t len = strlen(s), scheme;
	if (len > JOB_URL_MAX)
		return 0;
	if (strncmp(s, "https://", 8) == 0)
		scheme = 8;
	else if (strncmp(s, "http://", 7) == 0)
		scheme = 7;
	else
		return 0;
	if (s[scheme] == '\0' || s[scheme] == '/' || s[scheme] == '?' || s[scheme] == '#' || s[scheme] == ':')
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return 0;
	return 1;
}

static int in_list(const char *s, const char *const *values)
{
	for (; *values; values++)
		if (strcmp(s, *values) == 0)
			return 1;
	return 0;
}

static int check_providers(const cJSON *v, cJSON *out, struct api_problem *p)
{
	char field[64];
	if (!cJSON_IsObject(v))
		return api_problem_invalid(p, "options.providers",
					   "providers must be an object with optional parse, render, tts, merge names");
	if (api_problem_unknown_fields(v, "options.providers.", stages, ARRAY_SIZE(stages), p) < 0)
		return -1;
	cJSON *copy = cJSON_AddObjectToObject(out, "providers");
	for (const cJSON *m = v->child; m; m = m->next) {
		snprintf(field, sizeof(field), "options.providers.%s", m->string);
		if (cJSON_IsNull(m))
			continue;
		char known[128];
		if (!cJSON_IsString(m) || !in_list(m->valuestring, providers_of(m->string)))
			return api_problem_set(p, 422, "invalid-field", "A field is invalid", field,
					       "%s must be one of: %s", field,
					       providers_list(m->string, known, sizeof(known)));
		cJSON_AddStringToObject(copy, m->string, m->valuestring);
	}
	return 0;
}

/* A bundled track, an upload reference (whose owner and state the caller
 * checks), or a storage key outside the uploads, which only a reference reaches. */
static int music_ok(const char *s)
{
	if (in_list(s, media_music_tracks) || upload_ref_id(s))
		return 1;
	return strchr(s, '/') && storage_key_ok(s) && strncmp(s, UPLOAD_KEY_PREFIX, strlen(UPLOAD_KEY_PREFIX)) != 0;
}

/* Checks v against rule; copies what is kept into out. 0 or -1 with p. */
static int check_rule(const struct option_rule *r, const cJSON *v, cJSON *out, struct api_problem *p)
{
	char field[64];
	int ok = 0;
	snprintf(field, sizeof(field), "options.%s", r->name);
	switch (r->kind) {
	case RULE_ENUM: ok = cJSON_IsString(v) && in_list(v->valuestring, r->values); break;
	case RULE_TEXT: ok = cJSON_IsString(v) && strlen(v->valuestring) <= (size_t)r->max; break;
	case RULE_MUSIC:
		ok = cJSON_IsString(v) && strlen(v->valuestring) <= (size_t)r->max && music_ok(v->valuestring);
		break;
	case RULE_LANGUAGE:
		ok = cJSON_IsString(v) && strlen(v->valuestring) <= (size_t)r->max && language_ok(v->valuestring);
		break;
	case RULE_URL: ok = cJSON_IsString(v) && job_request_url_ok(v->valuestring); break;
	case RULE_BOOL: ok = cJSON_IsBool(v); break;
	case RULE_INT:
		/* Range first: only then is the value a safe cast away from being whole. */
		ok = cJSON_IsNumber(v) && v->valuedouble >= (double)r->min && v->valuedouble <= (double)r->max &&
		     v->valuedouble == floor(v->valuedouble);
		break;
	case RULE_PROVIDERS: return check_providers(v, out, p);
	}
	if (!ok)
		return api_problem_set(p, 422, "invalid-field", "A field is invalid", field, "%s must be %s", field,
				       r->hint);
	cJSON_AddItemToObject(out, r->name, cJSON_Duplicate(v, 0));
	return 0;
}

static int check_options(const cJSON *body, struct job_request *rq, struct api_problem *p)
{
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(body, "options");
	rq->options = cJSON_CreateObject();
	if (!opts || cJSON_IsNull(opts))
		return 0;
	if (!cJSON_IsObject(opts))
		return api_problem_invalid(p, "options", "options must be an object");
	const char *names[ARRAY_SIZE(rules)];
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		names[i] = rules[i].name;
	if (api_problem_unknown_fields(opts, "options.", names, ARRAY_SIZE(names), p) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(opts, rules[i].name);
		if (!v)
			continue;
		if (cJSON_IsNull(v)) {
			/* null means "the default", except for music where it says "none". */
			if (rules[i].kind == RULE_MUSIC)
				cJSON_AddNullToObject(rq->options, "music");
			continue;
		}
		if (check_rule(&rules[i], v, rq->options, p) < 0)
			return -1;
	}
	return 0;
}

int job_request_parse(const char *body, size_t len, struct job_request *rq, struct api_problem *p)
{
	cJSON *j;
	int rc;
	memset(rq, 0, sizeof(*rq));
	memset(p, 0, sizeof(*p));
	j = json_parse(body, len);
	if (!j)
		return api_problem_set(p, 400, "invalid-json", "The body is not valid JSON", "",
				       "the request body must be a JSON object");
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return api_problem_set(p, 400, "invalid-json", "The body is not a JSON object", "",
				       "the request body must be a JSON object");
	}
	rc = check_template(j, rq, p);
	if (rc == 0)
		rc = api_problem_unknown_fields(j, "", top_fields, ARRAY_SIZE(top_fields), p);
	if (rc == 0)
		rc = check_input(j, rq, p);
	if (rc == 0)
		rc = check_options(j, rq, p);
	cJSON_Delete(j);
	if (rc < 0)
		job_request_release(rq);
	return rc;
}

void job_request_release(struct job_request *rq)
{
	free(rq->template);
	cJSON_Delete(rq->input);
	cJSON_Delete(rq->options);
	memset(rq, 0, sizeof(*rq));
}
