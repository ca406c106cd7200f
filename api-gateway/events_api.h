/*
 * GET /v1/jobs/{id}/events: a job's events as Server-Sent Events.
 */
#ifndef REEL_EVENTS_API_H
#define REEL_EVENTS_API_H

#include <stddef.h>

#include "http_server.h"
#include "util.h"

struct daemon;

/* GET /v1/jobs/{id}/events: Server-Sent Events of the job's job_events rows (events_api.c). */
void events_api_job_events(struct http_exchange *x, void *arg);
/* The status of job id when owner has it, into status: 0 found, 1 not
 * found (or another user's), -1 on a database error (events_api.c). */
int events_api_job_status(struct daemon *d, const char *id, const char *owner, char *status, size_t len) WARN_UNUSED;
/* The job id of the path ({id}), lower-cased into id (SSE_JOB_ID_LEN + 1 bytes): 0, or -1 after answering 404. */
int events_api_job_id(struct http_exchange *x, char *id) WARN_UNUSED;
/* The status of owner's job id into status: 0, or -1 after answering 404 or 503. */
int events_api_owned_job(struct http_exchange *x, struct daemon *d, const char *id, const char *owner, char *status,
			 size_t len) WARN_UNUSED;
/* POST /v1/jobs/{id}/events/tokens: {"token","expires_at"}, the owner's pass to
 * the job's stream for a browser, as ?token= (events_api.c, stream_token.h). */
void events_api_create_stream_token(struct http_exchange *x, void *arg);

#endif
