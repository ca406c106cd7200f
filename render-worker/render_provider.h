/*
 * The one interface of render providers. The offline provider draws the
 * keyframe itself; a remote one only knows its vendor's wire format: it
 * builds the submission (with our callback URL) and reads the vendor's
 * answer, while render_submit.c sends it on the loop and the webhook-receiver
 * finishes the task when the vendor calls back (or its sweeper polls).
 */
#ifndef REEL_RENDER_PROVIDER_H
#define REEL_RENDER_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "provider.h"
#include "vendors/vendors.h"

struct storage;

/* The render stage's process-wide state. */
struct render_state {
	struct vendors *vendors;
	struct storage *storage;
	struct http_client *http;
	const char *public_url; /* REEL_PUBLIC_URL: every callback URL starts with it */
	const char *default_provider;
	char *comfyui_workflow, *comfyui_i2v_workflow; /* loaded templates, or NULL */
	size_t comfyui_workflow_len, comfyui_i2v_workflow_len;
	bool skip_media;
	unsigned drawing;         /* offline draws on the thread pool: the state outlives stop() until they return */
	struct render_data *busy; /* the shots this process is rendering now (render_data.busy_next) */
	bool stopped;
};

/* Frees st: at stop(), or after the last offline draw that was still running then. */
void render_state_free(struct render_state *st);

/* What one shot asks of its vendor, read in the claim. */
struct render_shot {
	char *prompt;    /* exactly what the image model receives */
	char *image_key; /* the stored keyframe, for the video step */
	bool video;      /* this step turns the keyframe into a clip */
	long seed;
	long est_ms;          /* the narration estimate a clip should cover */
	int frame_w, frame_h; /* the job's output frame */
	char aspect[8];       /* "9:16"... */
	char job[64];
	int index;
	int generation; /* how many vendor tasks the shot has recorded: each one makes the next key new */
};

/* A submission a provider built; render_submit frees the strings. */
struct render_request {
	const char *method; /* NULL: POST */
	char *url;
	char *headers[4]; /* "Name: value" lines */
	size_t n_headers;
	char *body;
};

/* A render provider. Its info.options are its part of vendors_options,
 * which fill struct vendors (webhook-receiver reads them too). "offline"
 * has no functions: render.c draws its keyframes. */
struct render_provider {
	struct provider_info info;
	/* The image (or with s->video the clip) submission; webhook is our callback URL.
	 * -1 with err when the shot cannot be sent (its keyframe unreadable...). */
	int (*build)(const struct render_state *st, const struct render_shot *s, const char *webhook,
		     struct render_request *out, char *err, size_t errlen);
	/* Reads a 2xx submit answer: the task's id and the URLs to poll and cancel it. */
	int (*read)(const struct render_state *st, const char *body, size_t len, struct vendor_result *out, char *err,
		    size_t errlen);
	/* True when it sends callbacks; false when the sweeper must poll it from the start. */
	bool callbacks;
	/* The GET that looks for an earlier submission of the shot's task key
	 * before it is sent again (a submission timed out, or the worker died
	 * before storing the vendor's id): the first place to look, or next (taken
	 * over) when found said where to look on. NULL when the vendor offers no way. */
	void (*find)(const struct render_state *st, const char *key, char *next, struct render_request *out);
	/* Reads a lookup answer: 1 with out filled when a live or finished
	 * submission of key is there; 0 when not, with *next the URL to look at
	 * next (another page) or NULL; -1 with err when the answer is unreadable. */
	int (*found)(const struct render_state *st, const char *key, const char *body, size_t len,
		     struct vendor_result *out, char **next, char *err, size_t errlen);
};

/* The stage's providers (providers/registry.c). */
extern const struct provider_registry render_registry;

/* A remote provider by name, or NULL ("offline" is not one: render.c draws it). */
const struct render_provider *render_provider_find(const char *name);
/* The stored keyframe of s as a data: URI, for vendors taking images inline; NULL with err. The caller frees. */
char *render_provider_image_data_uri(const struct render_state *st, const struct render_shot *s, char *err,
				     size_t errlen);
/* The stored keyframe of s as bare base64; NULL with err. The caller frees. */
char *render_provider_image_base64(const struct render_state *st, const struct render_shot *s, char *err,
				   size_t errlen);
#define RENDER_TASK_KEY_LEN 37 /* a UUID and its NUL */

/* The key of a shot's submission: the same for every attempt until a vendor
 * task of the shot is recorded (job, shot, image or clip, prompt, seed and
 * generation), so a lost submission is found under it but a recorded one
 * never again; shaped as a UUID so that ComfyUI takes it as the prompt_id. */
void render_provider_task_key(const struct render_shot *s, char out[RENDER_TASK_KEY_LEN]);
/* Adds the JSON content type and, when scheme and secret are set, "Authorization: <scheme> <secret>". */
void render_provider_json_headers(struct render_request *out, const char *scheme, const char *secret);

#endif
