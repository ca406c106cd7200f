/*
 * The image and video vendors render-worker submits to and webhook-receiver
 * hears from: their shared configuration (addresses, keys, models, limits of
 * what we download, deadlines) and the result of a vendor task as both
 * daemons read it, whatever the vendor's own shape.
 */
#ifndef REEL_VENDORS_H
#define REEL_VENDORS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "util.h"

#define VENDOR_MAX_OUTPUTS 8

/* Filled by config_load from vendors_options; owned by the daemon's config. */
struct vendors {
	char *replicate_base_url; /* includes /v1 */
	char *replicate_token;
	char *replicate_secret; /* whsec_... */
	char *replicate_model;  /* owner/name, owner/name:version or a version id */
	char *replicate_i2v_model;
	char *replicate_i2v_image_field; /* the i2v model's input holding the keyframe */
	char *fal_base_url;              /* https://queue.fal.run; the model id is appended */
	char *fal_key;
	char *fal_jwks_url;
	char *fal_jwks_file; /* when set, used instead of the URL */
	char *fal_model;
	char *fal_i2v_model;
	char *comfyui_url;
	char *comfyui_workflow;     /* API-format workflow template (file) */
	char *comfyui_i2v_workflow; /* or NULL: no i2v with ComfyUI */
	char *i2v_durations;        /* clip lengths in seconds the i2v models accept, "5,10" */
	char *negative_prompt;
	bool allow_private; /* REEL_ALLOW_PRIVATE_WEBHOOKS */
	long download_max_mb;
	long media_max_side;       /* pixels */
	long media_max_s;          /* seconds of a clip */
	long callback_timeout_s;   /* until the sweeper polls a task */
	long max_age_s;            /* until the sweeper fails it */
	long poll_ms;              /* how often ComfyUI tasks are polled, and the sweeper runs */
	long submit_timeout_s;     /* a render submission unanswered this long is retried */
	long tolerance_s;          /* accepted age of a signed callback */
	char *stripe_secret;       /* whsec_ secret of Stripe's payment webhooks (webhook-receiver) */
	char *lemonsqueezy_secret; /* signing secret of Lemon Squeezy's payment webhooks */
};

extern const struct config_option vendors_options[];
extern const size_t vendors_n_options;
/* The part of vendors_options each vendor reads, ended by an entry without a name. */
extern const struct config_option vendors_replicate_options[], vendors_fal_options[], vendors_comfyui_options[];

enum vendor_state {
	VENDOR_RUNNING,   /* queued or in progress */
	VENDOR_SUCCEEDED, /* outputs are ready */
	VENDOR_FAILED,    /* the vendor gave up; error says why */
	VENDOR_CANCELED,
};

/* What a vendor said about a task (a callback, a poll, a submission). */
struct vendor_result {
	enum vendor_state state;
	char id[128];                      /* the vendor's id of the task */
	char *outputs[VENDOR_MAX_OUTPUTS]; /* file URLs or data: URIs, owned */
	size_t n_outputs;
	char error[512];
	char *get_url, *cancel_url, *result_url; /* where to poll, cancel and read it, owned, or NULL */
};

void vendors_result_release(struct vendor_result *r);
/* Adds an output URL (copied); ignored beyond VENDOR_MAX_OUTPUTS. */
void vendors_result_add_output(struct vendor_result *r, const char *url);
/* The clip length to ask for to cover est_ms: the shortest of the
 * comma-separated durations (seconds) that covers it, else the longest. */
int vendors_clip_seconds(const char *durations, long est_ms);
/* True when provider (replicate, fal, comfyui) has an image-to-video model configured. */
bool vendors_has_i2v(const struct vendors *v, const char *provider);
/* Reads a whole small file (a template, a JWKS); NULL with err. The caller frees. */
char *vendors_read_file(const char *path, size_t *len, char *err, size_t errlen);

#endif
