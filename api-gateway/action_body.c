/*
 * Validation of action bodies. An edit's texts follow the same rules as
 * the storyboard's: non-blank strings of bounded size.
 */
#include "action_body.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "banned.h"

static const char *const edit_fields[] = { "prompt", "narration" };
static const char *const approve_item_fields[] = { "index", "prompt", "narration" };
static const char *const approve_fields[] = { "shots" };

/* The body as a JSON object (empty counts as {}); NULL with p filled. */
static cJSON *object_body(const char *body, size_t len, struct api_problem *p)
{
	cJSON *j = len ? json_parse(body, len) : cJSON_CreateObject();
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		api_problem_set(p, 400, "invalid-json", "The body is not a JSON object", "",
				"send a JSON object ({} when there is nothing to say) or no body");
		return NULL;
	}
	return j;
}

static int has_content(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 1;
	return 0;
}

/* One optional text member into *out. prefix names its place ("shots[2]."). */
static int take_text(const cJSON *o, const char *name, size_t max, const char *prefix, char **out,
		     struct api_problem *p)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	char field[64];
	snprintf(field, sizeof(field), "%s%s", prefix, name);
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !has_content(v->valuestring) || strlen(v->valuestring) > max)
		return api_problem_set(p, 422, "invalid-field", "A field is invalid", field,
				       "%s must be a non-blank string of at most %zu bytes", field, max);
	*out = xstrdup(v->valuestring);
	return 0;
}

static void edit_release(struct action_edit *e)
{
	free(e->prompt);
	free(e->narration);
	e->prompt = e->narration = NULL;
}

static int take_edit(const cJSON *o, const char *prefix, struct action_edit *e, struct api_problem *p)
{
	if (take_text(o, "prompt", ACTION_PROMPT_MAX, prefix, &e->prompt, p) < 0 ||
	    take_text(o, "narration", ACTION_NARRATION_MAX, prefix, &e->narration, p) < 0)
		return -1;
	return 0;
}

int action_body_empty(const char *body, size_t len, struct api_problem *p)
{
	cJSON *j = object_body(body, len, p);
	if (!j)
		return -1;
	int rc = api_problem_unknown_fields(j, "", NULL, 0, p);
	cJSON_Delete(j);
	return rc;
}

int action_body_patch(const char *body, size_t len, struct action_edit *e, struct api_problem *p)
{
	cJSON *j = object_body(body, len, p);
	int rc = -1;
	memset(e, 0, sizeof(*e));
	e->index = -1;
	if (!j)
		return -1;
	if (api_problem_unknown_fields(j, "", edit_fields, ARRAY_SIZE(edit_fields), p) == 0 &&
	    take_edit(j, "", e, p) == 0) {
		rc = 0;
		if (!e->prompt && !e->narration)
			rc = api_problem_invalid(p, "prompt", "send a prompt, a narration or both");
	}
	cJSON_Delete(j);
	if (rc < 0)
		edit_release(e);
	return rc;
}

/* One item of approve's shots array: index i of the array. */
static int take_item(const cJSON *it, int i, struct action_edit *edits, size_t n, struct api_problem *p)
{
	char prefix[32], field[48];
	const cJSON *idx;
	snprintf(prefix, sizeof(prefix), "shots[%d].", i);
	if (!cJSON_IsObject(it)) {
		snprintf(field, sizeof(field), "shots[%d]", i);
		return api_problem_set(p, 422, "invalid-field", "A field is invalid", field,
				       "%s must be an object with index, prompt, narration", field);
	}
	if (api_problem_unknown_fields(it, prefix, approve_item_fields, ARRAY_SIZE(approve_item_fields), p) < 0)
		return -1;
	snprintf(field, sizeof(field), "%sindex", prefix);
	idx = cJSON_GetObjectItemCaseSensitive(it, "index");
	if (!cJSON_IsNumber(idx) || idx->valuedouble < 0 || idx->valuedouble >= 10000 ||
	    idx->valuedouble != floor(idx->valuedouble))
		return api_problem_set(p, 422, "invalid-field", "A field is invalid", field,
				       "%s must be a shot index (a whole number from 0)", field);
	for (size_t k = 0; k < n; k++)
		if (edits[k].index == (long)idx->valuedouble)
			return api_problem_set(p, 422, "invalid-field", "A field is invalid", field,
					       "shot %ld is edited twice", edits[k].index);
	edits[n].index = (long)idx->valuedouble;
	return take_edit(it, prefix, &edits[n], p);
}

static int take_shots(const cJSON *shots, struct action_edit **edits, size_t *n, struct api_problem *p)
{
	int count = cJSON_GetArraySize(shots), i = 0;
	if (!cJSON_IsArray(shots) || count > ACTION_EDITS_MAX)
		return api_problem_set(p, 422, "invalid-field", "A field is invalid", "shots",
				       "shots must be an array of at most %d edits", ACTION_EDITS_MAX);
	*edits = xcalloc((size_t)count + 1, sizeof(**edits));
	for (const cJSON *it = shots->child; it; it = it->next, i++) {
		if (take_item(it, i, *edits, *n, p) < 0) {
			edit_release(&(*edits)[*n]);
			return -1;
		}
		(*n)++;
	}
	return 0;
}

int action_body_approve(const char *body, size_t len, struct action_edit **edits, size_t *n, struct api_problem *p)
{
	cJSON *j = object_body(body, len, p);
	const cJSON *shots;
	int rc = -1;
	*edits = NULL;
	*n = 0;
	if (!j)
		return -1;
	if (api_problem_unknown_fields(j, "", approve_fields, ARRAY_SIZE(approve_fields), p) == 0) {
		shots = cJSON_GetObjectItemCaseSensitive(j, "shots");
		rc = !shots || cJSON_IsNull(shots) ? 0 : take_shots(shots, edits, n, p);
	}
	cJSON_Delete(j);
	if (rc < 0) {
		action_body_free_edits(*edits, *n);
		*edits = NULL;
		*n = 0;
	}
	return rc;
}

void action_body_free_edits(struct action_edit *edits, size_t n)
{
	for (size_t i = 0; i < n; i++)
		edit_release(&edits[i]);
	free(edits);
}

int action_body_expiry(const char *body, size_t len, long max, long *ttl, struct api_problem *p)
{
	static const char *const fields[] = { "expires_in_s" };
	cJSON *j = object_body(body, len, p);
	if (!j)
		return -1;
	int rc = api_problem_unknown_fields(j, "", fields, ARRAY_SIZE(fields), p);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "expires_in_s");
	*ttl = max;
	if (rc == 0 && v) {
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
		    v->valuedouble > (double)max)
			rc = api_problem_set(p, 422, "invalid-field", "A field is invalid", "expires_in_s",
					     "expires_in_s must be a whole number of seconds from 1 to %ld", max);
		else
			*ttl = (long)v->valuedouble;
	}
	cJSON_Delete(j);
	return rc;
}
