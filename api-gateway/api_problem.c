/*
 * Refusals gathered by the validators, sent as problem+json by the routes.
 */
#include "api_problem.h"

#include <stdarg.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "http_server.h"
#include "str.h"
#include "banned.h"

int api_problem_set(struct api_problem *p, int status, const char *type, const char *title, const char *field,
		    const char *fmt, ...)
{
	va_list ap;
	p->status = status;
	p->type = type;
	p->title = title;
	str_copy(p->field, field, sizeof(p->field));
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	return -1;
}

int api_problem_invalid(struct api_problem *p, const char *field, const char *detail)
{
	return api_problem_set(p, 422, "invalid-field", "A field is invalid", field, "%s", detail);
}

int api_problem_credits(struct api_problem *p, long needed, long available)
{
	api_problem_set(p, 402, "insufficient-credits", "Not enough credits", "",
			"this needs %ld credits and %ld are available: buy credits or wait for a job to end", needed,
			available);
	p->needed = needed;
	p->available = available;
	return -1;
}

int api_problem_unavailable(struct api_problem *p)
{
	return api_problem_set(p, 503, "unavailable", "The database is not available", "", "try again shortly");
}

static int known(const char *name, const char *const *allowed, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, allowed[i]) == 0)
			return 1;
	return 0;
}

int api_problem_unknown_fields(const struct cJSON *obj, const char *prefix, const char *const *allowed, size_t n,
			       struct api_problem *p)
{
	char field[128];
	for (const cJSON *m = obj->child; m; m = m->next) {
		snprintf(field, sizeof(field), "%s%.80s", prefix, m->string);
		if (!known(m->string, allowed, n))
			return api_problem_set(p, 422, "unknown-field", "A field is not known", field,
					       "unknown field '%s'", field);
		/* cJSON keeps both copies of a repeated member; which one counts would be a guess. */
		for (const cJSON *o = m->next; o; o = o->next)
			if (strcmp(o->string, m->string) == 0)
				return api_problem_set(p, 422, "invalid-field", "A field is invalid", field,
						       "field '%s' appears more than once", field);
	}
	return 0;
}

void api_problem_send(struct http_exchange *x, const struct api_problem *p)
{
	if (p->status == 402) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddNumberToObject(m, "needed", (double)p->needed);
		cJSON_AddNumberToObject(m, "available", (double)p->available);
		http_problem_with(x, p->status, p->type, p->title, p->detail, NULL, m);
		return;
	}
	http_problem(x, p->status, p->type, p->title, p->detail, p->field[0] ? p->field : NULL);
}
