/*
 * A shot's actions while its job is stopped: edit, regenerate, skip.
 */
#ifndef REEL_SHOT_ACTIONS_H
#define REEL_SHOT_ACTIONS_H

#include <stddef.h>

#include "http_server.h"

/* PATCH /v1/jobs/{id}/shots/{n}: a shot's prompt or narration, while the job is stopped. */
void shot_actions_patch(struct http_exchange *x, void *arg);
/* POST /v1/jobs/{id}/shots/{n}/regenerate: render the shot again, then merge again. */
void shot_actions_regenerate(struct http_exchange *x, void *arg);
/* POST /v1/jobs/{id}/shots/{n}/skip: leave a failed shot out of the video. */
void shot_actions_skip(struct http_exchange *x, void *arg);

#endif
