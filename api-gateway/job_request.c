/*
 * Validation of job creation requests. Everything a client sends is checked
 * here, before anything touches the database.
 */
#include "job_request.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "media.h"
#include "banned.h"

static const char *const templates[] = { "storyboard" };

static int refuse(struct api_problem *p, int status, const char *type, const char *title, const char *field,
		  const char *fmt, ...) PRINTF_LIKE(6, 7);

static int refuse(struct api_problem *p, int status, const char *type, const char *title, const char *field,
		  const char *fmt, ...)
{
	va_list ap;
	p->status = status;
	p->type = type;
	p->title = title;
	strlcpy_(p->field, field, sizeof(p->field));
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	return -1;
}

static int invalid(struct api_problem *p, const char *field, const char *detail)
{
	return refuse(p, 422, "invalid-field", "A field is invalid", field, "%s", detail);
}

static int check_template(const cJSON *body, struct job_request *rq, struct api_problem *p)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "template");
	if (!t)
		return invalid(p, "template", "template is required (one of: storyboard)");
	if (!cJSON_IsString(t))
		return invalid(p, "template", "template must be a string");
	for (size_t i = 0; i < ARRAY_SIZE(templates); i++)
		if (strcmp(t->valuestring, templates[i]) == 0) {
			rq->template = xstrdup(templates[i]);
			return 0;
		}
	return refuse(p, 422, "invalid-field", "A field is invalid", "template",
		      "unknown template '%.64s' (one of: storyboard)", t->valuestring);
}

/* True when s holds something besides white space. */
static int has_content(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 1;
	return 0;
}

static int check_input(const cJSON *body, struct job_request *rq, struct api_problem *p)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input"), *text;
	if (!cJSON_IsObject(in))
		return invalid(p, "input", "input must be an object with a text field");
	text = cJSON_GetObjectItemCaseSensitive(in, "text");
	if (!text)
		return invalid(p, "input.text", "input.text is required");
	if (!cJSON_IsString(text))
		return invalid(p, "input.text", "input.text must be a string");
	if (strlen(text->valuestring) > JOB_TEXT_MAX)
		return refuse(p, 413, "too-large", "The text is too long", "input.text",
			      "input.text is %zu bytes; the limit is %d", strlen(text->valuestring), JOB_TEXT_MAX);
	if (!has_content(text->valuestring))
		return invalid(p, "input.text", "input.text is empty");
	rq->input = cJSON_CreateObject();
	cJSON_AddStringToObject(rq->input, "text", text->valuestring);
	return 0;
}

static int check_string_option(const cJSON *opts, const char *name, size_t max, cJSON *out, struct api_problem *p)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(opts, name);
	char field[64];
	snprintf(field, sizeof(field), "options.%s", name);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) > max)
		return refuse(p, 422, "invalid-field", "A field is invalid", field, "%s must be a string of at most %zu bytes",
			      field, max);
	cJSON_AddStringToObject(out, name, v->valuestring);
	return 0;
}

/* The render stage's options: motion (still | i2v) and the per-job
 * provider override providers.render. */
static int check_render_options(const cJSON *opts, struct job_request *rq, struct api_problem *p)
{
	const char *motion = json_str(rq->options, "motion");
	const cJSON *providers = cJSON_GetObjectItemCaseSensitive(opts, "providers"), *v;
	if (motion && strcmp(motion, "still") != 0 && strcmp(motion, "i2v") != 0)
		return invalid(p, "options.motion", "motion must be still or i2v");
	if (!providers || cJSON_IsNull(providers))
		return 0;
	if (!cJSON_IsObject(providers))
		return invalid(p, "options.providers", "providers must be an object");
	cJSON *out = cJSON_AddObjectToObject(rq->options, "providers");
	cJSON_ArrayForEach(v, providers) {
		if (!cJSON_IsString(v) || strlen(v->valuestring) > 32)
			return invalid(p, "options.providers", "each provider must be a string of at most 32 bytes");
		cJSON_AddStringToObject(out, v->string, v->valuestring);
	}
	return 0;
}

static int check_options(const cJSON *body, struct job_request *rq, struct api_problem *p)
{
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(body, "options"), *v;
	int w, h;
	long n;
	rq->options = cJSON_CreateObject();
	if (!opts || cJSON_IsNull(opts))
		return 0;
	if (!cJSON_IsObject(opts))
		return invalid(p, "options", "options must be an object");
	if (check_string_option(opts, "aspect_ratio", 8, rq->options, p) < 0 ||
	    check_string_option(opts, "resolution", 8, rq->options, p) < 0 ||
	    check_string_option(opts, "language", 16, rq->options, p) < 0 ||
	    check_string_option(opts, "voice", 64, rq->options, p) < 0 ||
	    check_string_option(opts, "style", 200, rq->options, p) < 0 ||
	    check_string_option(opts, "motion", 8, rq->options, p) < 0 || check_render_options(opts, rq, p) < 0)
		return -1;
	if (media_frame_size(json_str(rq->options, "aspect_ratio"), NULL, &w, &h) < 0)
		return invalid(p, "options.aspect_ratio", "aspect_ratio must be one of 9:16, 16:9, 1:1, 4:5");
	if (media_frame_size(NULL, json_str(rq->options, "resolution"), &w, &h) < 0)
		return invalid(p, "options.resolution", "resolution must be 720p or 1080p");
	if ((v = cJSON_GetObjectItemCaseSensitive(opts, "max_shots"))) {
		if (json_int(opts, "max_shots", &n) < 0 || n < 1 || n > 60)
			return invalid(p, "options.max_shots", "max_shots must be a whole number from 1 to 60");
		cJSON_AddNumberToObject(rq->options, "max_shots", (double)n);
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
		return refuse(p, 400, "invalid-json", "The body is not valid JSON", "", "the request body must be a JSON object");
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return refuse(p, 400, "invalid-json", "The body is not a JSON object", "", "the request body must be a JSON object");
	}
	rc = check_template(j, rq, p);
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
