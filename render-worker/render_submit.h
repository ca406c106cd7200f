/*
 * The slow part of a render task, started on the loop: the offline keyframe
 * (and with motion i2v its clip) made on the thread pool, or a vendor
 * submission sent with the HTTP client. Either ends in worker_task_done.
 */
#ifndef REEL_RENDER_SUBMIT_H
#define REEL_RENDER_SUBMIT_H

#include <uv.h>

#include "render_provider.h"
#include "worker.h"

/* One task's state; owned by the task (freed by render_submit_data_free). */
struct render_data {
	struct render_shot shot;
	const struct render_provider *provider; /* NULL: offline */
	const char *provider_name;
	char key[128];       /* offline or kept: where the keyframe is stored */
	char video_key[128]; /* offline i2v or kept: where the clip is stored, else "" */
	bool kept;           /* the result was stored already: committed as it is, nothing sent */
	int attempt;         /* the shot's render attempt, counted in the claim */
	bool look_first;     /* a retry: look for the earlier submission at the vendor before sending */
	int http_status;     /* remote: the submission's answer, for its provider_calls row */
	int pages;           /* lookup answers read so far */
	uint64_t sent_at;    /* remote: when the task started at the vendor (loop ms), for its provider_calls row */
	struct vendor_result sub;   /* remote: the vendor's task as its answer described it */
	uv_work_t work;             /* offline: the drawing on the thread pool */
	struct render_state *state; /* the stage's state (offline: kept alive until the drawing returns) */
	struct render_data **busy_prev, *busy_next; /* on state->busy while claimed; busy_prev NULL when not */
};

/* ops->init's part: loads the ComfyUI templates (and the drawer, when the
 * default provider is offline). -1 with err. */
int render_submit_init(struct render_state *st, bool offline_default, char *err, size_t errlen) WARN_UNUSED;
/* ops->start. */
void render_submit_start(struct task *t);
void render_submit_data_free(struct render_data *rd);

#endif
