/*
 * The body of POST /v1/jobs: parsed, validated and normalised, or refused
 * with the problem that names the field at fault. Templates, inputs and
 * options are those of docs/api.md and docs/architecture.md;
 * unknown members are refused at every level.
 */
#ifndef REEL_JOB_REQUEST_H
#define REEL_JOB_REQUEST_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "api_problem.h"
#include "util.h"

#define JOB_TEXT_MAX (100 * 1024)
#define JOB_URL_MAX 2048

struct job_request {
	char *template; /* "storyboard", "script" or "demo" */
	cJSON *input;   /* the validated input object, owned */
	cJSON *options; /* the validated options as sent (null members dropped; the
			 * workers apply the defaults of absent ones), owned */
};

/* Parses body; -1 with p filled when it is refused. */
int job_request_parse(const char *body, size_t len, struct job_request *rq, struct api_problem *p) WARN_UNUSED;
void job_request_release(struct job_request *rq);

/* True when s is an absolute http(s) URL with a host and no spaces or
 * control characters, at most JOB_URL_MAX bytes. */
int job_request_url_ok(const char *s);

#endif
