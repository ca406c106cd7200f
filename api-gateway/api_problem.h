/*
 * Refusals of client requests, gathered before they become RFC 9457
 * problems: validation code fills one, the route handler sends it. The type
 * slugs are stable (https://reelforge.dev/problems/<slug>, listed in
 * openapi.json).
 */
#ifndef REEL_API_PROBLEM_H
#define REEL_API_PROBLEM_H

#include <stddef.h>

#include "util.h"

struct http_exchange;

/* A refusal, ready to become an RFC 9457 problem. */
struct api_problem {
	int status;       /* 400, 413, 422... */
	const char *type; /* slug: "invalid-json", "invalid-field", "unknown-field", "too-large" */
	const char *title;
	char detail[256];
	char field[128]; /* JSON path of the field at fault ("input.text"), or "" */
	long needed;     /* insufficient-credits: the credits the request needs... */
	long available;  /* ...and the owner's available credits */
};

/* Fills p and returns -1, so validators can `return api_problem_set(...)`. */
int api_problem_set(struct api_problem *p, int status, const char *type, const char *title, const char *field,
		    const char *fmt, ...) PRINTF_LIKE(6, 7);
/* A 422 invalid-field refusal of field with detail; returns -1. */
int api_problem_invalid(struct api_problem *p, const char *field, const char *detail);
/* The 402 insufficient-credits refusal of a request needing needed credits
 * when available are there; returns -1. */
int api_problem_credits(struct api_problem *p, long needed, long available);
/* The 503 of a failed statement; returns -1. */
int api_problem_unavailable(struct api_problem *p);

struct cJSON;
/* Refuses (422 unknown-field, or invalid-field for a repeated member) any
 * member of obj not in allowed[0..n); prefix ("options.") starts the field
 * path. 0 when every member is known. */
int api_problem_unknown_fields(const struct cJSON *obj, const char *prefix, const char *const *allowed, size_t n,
			       struct api_problem *p) WARN_UNUSED;
/* Answers x with p as application/problem+json. */
void api_problem_send(struct http_exchange *x, const struct api_problem *p);

#endif
