/*
 * The replicate render provider: a prediction of REPLICATE_MODEL for the
 * keyframe, of REPLICATE_I2V_MODEL for the clip, each with our webhook and
 * the completed-only event filter (shared/reference/providers.md, section 3).
 * Replicate takes no idempotency key; a lost prediction is found by listing
 * GET /predictions and matching the task key our webhook URL carries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "json.h"
#include "render_provider.h"
#include "render_size.h"
#include "vendors/replicate_api.h"
#include "banned.h"

static cJSON *image_input(const struct render_shot *s)
{
	cJSON *in = cJSON_CreateObject();
	int w, h;
	render_size_replicate(s->frame_w, s->frame_h, &w, &h);
	cJSON_AddStringToObject(in, "prompt", s->prompt);
	cJSON_AddStringToObject(in, "aspect_ratio", s->aspect);
	cJSON_AddNumberToObject(in, "width", w);
	cJSON_AddNumberToObject(in, "height", h);
	cJSON_AddNumberToObject(in, "seed", (double)s->seed);
	cJSON_AddNumberToObject(in, "num_outputs", 1);
	cJSON_AddStringToObject(in, "output_format", "png");
	return in;
}

static cJSON *video_input(const struct render_state *st, const struct render_shot *s, char *err, size_t errlen)
{
	char *image = render_provider_image_data_uri(st, s, err, errlen);
	if (!image)
		return NULL;
	cJSON *in = cJSON_CreateObject();
	cJSON_AddStringToObject(in, "prompt", s->prompt);
	cJSON_AddStringToObject(in, st->vendors->replicate_i2v_image_field, image);
	cJSON_AddNumberToObject(in, "duration", vendors_clip_seconds(st->vendors->i2v_durations, s->est_ms));
	cJSON_AddStringToObject(in, "aspect_ratio", s->aspect);
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
	replicate_api_create(v->replicate_base_url, s->video ? v->replicate_i2v_model : v->replicate_model, input,
			     webhook, &out->url, &out->body);
	render_provider_json_headers(out, "Bearer", v->replicate_token);
	return 0;
}

static int read_answer(const struct render_state *st, const char *body, size_t len, struct vendor_result *out,
		       char *err, size_t errlen)
{
	(void)st;
	return replicate_api_read(body, len, out, err, errlen);
}

static void find(const struct render_state *st, const char *key, char *next, struct render_request *out)
{
	(void)key;
	out->method = "GET";
	out->url = next ? next : xasprintf("%s/predictions", st->vendors->replicate_base_url);
	render_provider_json_headers(out, "Bearer", st->vendors->replicate_token);
}

/* One page of GET /predictions (newest first): ours carries task=key in its webhook. */
static int found(const struct render_state *st, const char *key, const char *body, size_t len,
		 struct vendor_result *out, char **next, char *err, size_t errlen)
{
	cJSON *j = json_parse(body, len), *results = cJSON_GetObjectItemCaseSensitive(j, "results"), *p;
	char needle[64];
	int rc = 0;
	(void)st;
	*next = NULL;
	if (!cJSON_IsArray(results)) {
		cJSON_Delete(j);
		return errbuf_set(err, errlen, "not a Replicate prediction list (no results)");
	}
	snprintf(needle, sizeof(needle), "task=%s", key);
	cJSON_ArrayForEach (p, results) {
		const char *hook = json_str(p, "webhook");
		if (!hook || !strstr(hook, needle))
			continue;
		char *text = json_print(p);
		rc = replicate_api_read(text, strlen(text), out, err, errlen) < 0 ? -1 : 1;
		free(text);
		break;
	}
	const char *more = json_str(j, "next");
	if (rc == 0 && more && *more)
		*next = xstrdup(more);
	cJSON_Delete(j);
	return rc;
}

const struct render_provider render_replicate = {
	.info = { .name = "replicate",
		  .summary = "Replicate predictions, finished by its signed webhooks",
		  .key_var = "REPLICATE_API_TOKEN",
		  .options = vendors_replicate_options },
	.build = build,
	.read = read_answer,
	.callbacks = true,
	.find = find,
	.found = found,
};
