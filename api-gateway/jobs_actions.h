/*
 * A job's actions: cancel, approve, retry.
 */
#ifndef REEL_JOBS_ACTIONS_H
#define REEL_JOBS_ACTIONS_H

#include <stddef.h>

#include "http_server.h"

/* POST /v1/jobs/{id}/cancel: until the job is final; 409 saying its state otherwise. */
void gateway_cancel_job(struct http_exchange *x, void *arg);
/* POST /v1/jobs/{id}/approve: a job in review goes to production, after the
 * optional {"shots":[{"index","prompt","narration"}]} edits. */
void gateway_approve_job(struct http_exchange *x, void *arg);
/* POST /v1/jobs/{id}/retry: a failed or paused job resumes. */
void gateway_retry_job(struct http_exchange *x, void *arg);

#endif
