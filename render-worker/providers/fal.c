/*
 * The fal render provider: a queue submission of FAL_MODEL for the keyframe,
 * of FAL_I2V_MODEL for the clip, with fal_webhook (shared/reference/
 * providers.md, section 4). The answer's status, result and cancel URLs are
 * kept for the sweeper and for cancelling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vendors/fal_queue.h"
#include "json.h"
#include "render_provider.h"
#include "render_size.h"
#include "banned.h"

static cJSON *image_input(const struct render_shot *s)
{
	cJSON *in = cJSON_CreateObject(), *size;
	int w, h;
	render_size_fal(s->frame_w, s->frame_h, &w, &h);
	cJSON_AddStringToObject(in, "prompt", s->prompt);
	size = cJSON_AddObjectToObject(in, "image_size");
	cJSON_AddNumberToObject(size, "width", w);
	cJSON_AddNumberToObject(size, "height", h);
	cJSON_AddNumberToObject(in, "seed", (double)s->seed);
	cJSON_AddNumberToObject(in, "num_images", 1);
	cJSON_AddStringToObject(in, "output_format", "png");
	return in;
}

static cJSON *video_input(const struct render_state *st, const struct render_shot *s, char *err, size_t errlen)
{
	char *image = render_provider_image_data_uri(st, s, err, errlen), seconds[16];
	if (!image)
		return NULL;
	cJSON *in = cJSON_CreateObject();
	/* fal's video models take the duration as a string ("5", "10"). */
	snprintf(seconds, sizeof(seconds), "%d", vendors_clip_seconds(st->vendors->i2v_durations, s->est_ms));
	cJSON_AddStringToObject(in, "prompt", s->prompt);
	cJSON_AddStringToObject(in, "image_url", image);
	cJSON_AddStringToObject(in, "duration", seconds);
	cJSON_AddStringToObject(in, "aspect_ratio", s->aspect);
	cJSON_AddStringToObject(in, "negative_prompt", st->vendors->negative_prompt);
	cJSON_AddNumberToObject(in, "seed", (double)s->seed);
	free(image);
	return in;
}

static int build(const struct render_state *st, const struct render_shot *s, const char *webhook,
		 struct render_request *out, char *err, size_t errlen)
{
	const struct vendors *v = st->vendors;
	cJSON *input = s->video ? video_input(st, s, err, errlen) : image_input(s);
	if (!input)
		return -1;
	out->url = fal_queue_submit_url(v->fal_base_url, s->video ? v->fal_i2v_model : v->fal_model, webhook);
	out->body = json_print(input);
	cJSON_Delete(input);
	render_provider_json_headers(out, "Key", v->fal_key);
	return 0;
}

static int read_answer(const struct render_state *st, const char *body, size_t len, struct vendor_result *out,
		       char *err, size_t errlen)
{
	(void)st;
	return fal_queue_read_queue(body, len, out, err, errlen);
}

const struct render_provider render_fal = {
	.info = { .name = "fal",
		  .summary = "fal queue, finished by its signed webhooks",
		  .key_var = "FAL_KEY",
		  .options = vendors_fal_options },
	.build = build,
	.read = read_answer,
	.callbacks = true,
};
