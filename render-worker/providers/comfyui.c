/*
 * The comfyui render provider: COMFYUI_WORKFLOW (an API-format graph with
 * placeholders) posted to /prompt; the clip step uses COMFYUI_I2V_WORKFLOW,
 * whose {{image}} is the keyframe in base64 (for a LoadImageBase64 node).
 * ComfyUI sends no callbacks: the webhook-receiver's sweeper polls /history.
 * Our task key is the prompt_id, so a lost submission is found in /history
 * or /queue before the shot is sent again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "str.h"
#include "vendors/comfyui_api.h"
#include "json.h"
#include "render_provider.h"
#include "render_size.h"
#include "banned.h"

#define CLIP_FPS 16

static int build(const struct render_state *st, const struct render_shot *s, const char *webhook,
		 struct render_request *out, char *err, size_t errlen)
{
	const char *tpl = s->video ? st->comfyui_i2v_workflow : st->comfyui_workflow;
	size_t tpl_len = s->video ? st->comfyui_i2v_workflow_len : st->comfyui_workflow_len;
	struct comfyui_vars v = { .prompt = s->prompt, .negative = st->vendors->negative_prompt, .seed = s->seed };
	char client_id[33], prompt_id[RENDER_TASK_KEY_LEN], *image = NULL;
	int w, h;
	(void)webhook;
	if (!tpl)
		return errbuf_set(err, errlen, "COMFYUI_%sWORKFLOW is not set", s->video ? "I2V_" : "");
	if (s->video && !(image = render_provider_image_base64(st, s, err, errlen)))
		return -1;
	render_size_comfyui(s->frame_w, s->frame_h, &w, &h);
	v.width = w;
	v.height = h;
	v.image = image;
	v.frames = (long)vendors_clip_seconds(st->vendors->i2v_durations, s->est_ms) * CLIP_FPS + 1;
	str_random_hex(client_id, 16);
	render_provider_task_key(s, prompt_id);
	v.prompt_id = prompt_id;
	out->body = comfyui_api_prompt_body(tpl, tpl_len, &v, client_id, err, errlen);
	free(image);
	if (!out->body)
		return -1;
	out->url = xasprintf("%s/prompt", st->vendors->comfyui_url);
	render_provider_json_headers(out, NULL, NULL);
	return 0;
}

/* A prompt of ours, running or finished: the sweeper polls its /history. */
static void prompt_task(const struct render_state *st, const char *id, struct vendor_result *out)
{
	*out = (struct vendor_result){ .state = VENDOR_RUNNING };
	str_copy(out->id, id, sizeof(out->id));
	out->get_url = xasprintf("%s/history/%s", st->vendors->comfyui_url, id);
}

static int read_answer(const struct render_state *st, const char *body, size_t len, struct vendor_result *out,
		       char *err, size_t errlen)
{
	cJSON *j = json_parse(body, len);
	const char *id = json_str(j, "prompt_id");
	if (!id || !*id || strlen(id) >= sizeof(out->id)) {
		cJSON_Delete(j);
		return errbuf_set(err, errlen, "not a ComfyUI /prompt answer (no prompt_id)");
	}
	prompt_task(st, id, out);
	cJSON_Delete(j);
	return 0;
}

/* The prompt_id is our task key: a finished prompt is in /history/{key}, a waiting or running one in /queue. */
static void find(const struct render_state *st, const char *key, char *next, struct render_request *out)
{
	out->method = "GET";
	out->url = next ? next : xasprintf("%s/history/%s", st->vendors->comfyui_url, key);
	render_provider_json_headers(out, NULL, NULL);
}

/* True when a /queue list ([[number, prompt_id, ...], ...]) holds key. */
static bool listed(const cJSON *list, const char *key)
{
	const cJSON *e;
	cJSON_ArrayForEach (e, list) {
		const cJSON *id = cJSON_GetArrayItem(e, 1);
		if (cJSON_IsString(id) && strcmp(id->valuestring, key) == 0)
			return true;
	}
	return false;
}

static int found(const struct render_state *st, const char *key, const char *body, size_t len,
		 struct vendor_result *out, char **next, char *err, size_t errlen)
{
	cJSON *j = json_parse(body, len);
	const cJSON *running = cJSON_GetObjectItemCaseSensitive(j, "queue_running"),
		    *pending = cJSON_GetObjectItemCaseSensitive(j, "queue_pending");
	int rc = 0;
	*next = NULL;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return errbuf_set(err, errlen, "not a ComfyUI /history or /queue answer");
	}
	if (running || pending)
		rc = listed(running, key) || listed(pending, key);
	else if (cJSON_GetObjectItemCaseSensitive(j, key))
		rc = 1;
	else
		*next = xasprintf("%s/queue", st->vendors->comfyui_url);
	if (rc == 1)
		prompt_task(st, key, out);
	cJSON_Delete(j);
	return rc;
}

const struct render_provider render_comfyui = {
	.info = { .name = "comfyui",
		  .summary = "a ComfyUI server running an API-format workflow, polled",
		  .key_var = "COMFYUI_URL",
		  .options = vendors_comfyui_options },
	.build = build,
	.read = read_answer,
	.callbacks = false,
	.find = find,
	.found = found,
};
