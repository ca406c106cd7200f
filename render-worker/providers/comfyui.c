/*
 * The comfyui render provider: COMFYUI_WORKFLOW (an API-format graph with
 * placeholders) posted to /prompt; the clip step uses COMFYUI_I2V_WORKFLOW,
 * whose {{image}} is the keyframe in base64 (for a LoadImageBase64 node).
 * ComfyUI sends no callbacks: the webhook-receiver's sweeper polls /history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comfyui.h"
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
	char client_id[33], *image = NULL;
	int w, h;
	(void)webhook;
	if (!tpl)
		return errorf(err, errlen, "COMFYUI_%sWORKFLOW is not set", s->video ? "I2V_" : "");
	if (s->video && !(image = render_image_base64(st, s, err, errlen)))
		return -1;
	render_size_comfyui(s->frame_w, s->frame_h, &w, &h);
	v.width = w;
	v.height = h;
	v.image = image;
	v.frames = (long)vendors_clip_seconds(st->vendors->i2v_durations, s->est_ms) * CLIP_FPS + 1;
	random_hex(client_id, 16);
	out->body = comfyui_prompt_body(tpl, tpl_len, &v, client_id, err, errlen);
	free(image);
	if (!out->body)
		return -1;
	out->url = xasprintf("%s/prompt", st->vendors->comfyui_url);
	render_json_headers(out, NULL, NULL);
	return 0;
}

static int read_answer(const struct render_state *st, const char *body, size_t len, struct vendor_result *out,
		       char *err, size_t errlen)
{
	cJSON *j = json_parse(body, len);
	const char *id = json_str(j, "prompt_id");
	if (!id || !*id || strlen(id) >= sizeof(out->id)) {
		cJSON_Delete(j);
		return errorf(err, errlen, "not a ComfyUI /prompt answer (no prompt_id)");
	}
	*out = (struct vendor_result){ .state = VENDOR_RUNNING };
	strlcpy_(out->id, id, sizeof(out->id));
	out->get_url = xasprintf("%s/history/%s", st->vendors->comfyui_url, id);
	cJSON_Delete(j);
	return 0;
}

const struct render_provider render_comfyui = {
	.info = { .name = "comfyui",
		  .summary = "a ComfyUI server running an API-format workflow, polled",
		  .key_var = "COMFYUI_URL",
		  .options = vendors_comfyui_options },
	.build = build,
	.read = read_answer,
	.callbacks = false,
};
