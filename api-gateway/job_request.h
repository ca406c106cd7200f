/*
 * The body of POST /v1/jobs: parsed, validated and normalised, or refused
 * with the problem that names the field at fault.
 */
#ifndef REEL_JOB_REQUEST_H
#define REEL_JOB_REQUEST_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "util.h"

#define JOB_TEXT_MAX (100 * 1024)

/* A refusal, ready to become an RFC 9457 problem. */
struct api_problem {
	int status;        /* 400, 413, 422... */
	const char *type;  /* slug: "invalid-json", "invalid-field", "too-large" */
	const char *title;
	char detail[256];
	char field[64];    /* JSON path of the field at fault ("input.text"), or "" */
};

struct job_request {
	char *template; /* "storyboard" */
	cJSON *input;   /* the validated input object, owned */
	cJSON *options; /* the validated options with defaults filled, owned */
};

/* Parses body; -1 with p filled when it is refused. */
int job_request_parse(const char *body, size_t len, struct job_request *rq, struct api_problem *p) WARN_UNUSED;
void job_request_release(struct job_request *rq);

#endif
