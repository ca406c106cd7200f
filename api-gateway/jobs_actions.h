/*
 * A job's actions: cancel, approve, retry.
 */
#ifndef REEL_JOBS_ACTIONS_H
#define REEL_JOBS_ACTIONS_H

#include <stddef.h>

#include "http_server.h"

/* POST /v1/jobs/{id}/cancel: until the job is final; 409 saying its state otherwise. */
void jobs_actions_cancel(struct http_exchange *x, void *arg);
/* POST /v1/jobs/{id}/approve: a job in review goes to production, after the
 * optional {"shots":[{"index","prompt","narration"}]} edits. */
void jobs_actions_approve(struct http_exchange *x, void *arg);
/* POST /v1/jobs/{id}/retry: a failed or paused job resumes. */
void jobs_actions_retry(struct http_exchange *x, void *arg);

#endif
