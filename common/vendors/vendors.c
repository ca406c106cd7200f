/*
 * The render vendors' configuration table and the vendor-neutral task result.
 */
#include "errbuf.h"
#include "vendors/vendors.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

/* clang-format off */
#define S(env, def, flags, field, help) \
	{ env, CONFIG_STRING, def, flags, offsetof(struct vendors, field), 0, 0, help }
#define I(env, def, field, lo, hi, help) \
	{ env, CONFIG_INT, def, 0, offsetof(struct vendors, field), lo, hi, help }

/* Each vendor's options, also in its render provider's descriptor
 * (render-worker/providers/); both daemons load them all with the rest. */
#define REPLICATE_OPTIONS \
	S("REPLICATE_BASE_URL", "https://api.replicate.com/v1", 0, replicate_base_url, "Replicate API base, with /v1"), \
	S("REPLICATE_API_TOKEN", NULL, CONFIG_SECRET, replicate_token, "Replicate API token"), \
	S("REPLICATE_WEBHOOK_SECRET", NULL, CONFIG_SECRET, replicate_secret, "whsec_ secret of Replicate's webhooks"), \
	S("REPLICATE_MODEL", "black-forest-labs/flux-schnell", 0, replicate_model, "Replicate text-to-image model"), \
	S("REPLICATE_I2V_MODEL", "kwaivgi/kling-v2.1", 0, replicate_i2v_model, "Replicate image-to-video model"), \
	S("REPLICATE_I2V_IMAGE_FIELD", "start_image", 0, replicate_i2v_image_field, \
	  "input of the Replicate i2v model that takes the keyframe")
#define FAL_OPTIONS \
	S("FAL_QUEUE_BASE_URL", "https://queue.fal.run", 0, fal_base_url, "fal queue API base"), \
	S("FAL_KEY", NULL, CONFIG_SECRET, fal_key, "fal API key"), \
	S("FAL_JWKS_URL", "https://rest.alpha.fal.ai/.well-known/jwks.json", 0, fal_jwks_url, \
	  "fal webhook signing keys"), \
	S("FAL_JWKS_FILE", NULL, 0, fal_jwks_file, "fal webhook signing keys from a file instead of FAL_JWKS_URL"), \
	S("FAL_MODEL", "fal-ai/flux/schnell", 0, fal_model, "fal text-to-image model id"), \
	S("FAL_I2V_MODEL", "fal-ai/kling-video/v2.1/standard/image-to-video", 0, fal_i2v_model, \
	  "fal image-to-video model id")
#define COMFYUI_OPTIONS \
	S("COMFYUI_URL", "http://127.0.0.1:8188", 0, comfyui_url, "ComfyUI server"), \
	S("COMFYUI_WORKFLOW", NULL, 0, comfyui_workflow, \
	  "ComfyUI API-format workflow with {{prompt}} {{negative}} {{seed}} {{width}} {{height}}"), \
	S("COMFYUI_I2V_WORKFLOW", NULL, 0, comfyui_i2v_workflow, \
	  "ComfyUI image-to-video workflow, also with {{image}} {{frames}}")
/* clang-format on */

const struct config_option vendors_replicate_options[] = { REPLICATE_OPTIONS, { 0 } };
const struct config_option vendors_fal_options[] = { FAL_OPTIONS, { 0 } };
const struct config_option vendors_comfyui_options[] = { COMFYUI_OPTIONS, { 0 } };

const struct config_option vendors_options[] = {
	REPLICATE_OPTIONS,
	FAL_OPTIONS,
	COMFYUI_OPTIONS,
	S("REEL_I2V_DURATIONS", "5,10", 0, i2v_durations, "clip lengths (s) the image-to-video models accept"),
	S("REEL_RENDER_NEGATIVE_PROMPT", "text, watermark, blurry, deformed", 0, negative_prompt,
	  "what images should not show"),
	{ "REEL_ALLOW_PRIVATE_WEBHOOKS", CONFIG_BOOL, "0", 0, offsetof(struct vendors, allow_private), 0, 0,
	  "download vendor outputs from private addresses too" },
	I("REEL_DOWNLOAD_MAX_MB", "200", download_max_mb, 1, 4096, "largest vendor output downloaded"),
	I("REEL_MEDIA_MAX_SIDE", "4096", media_max_side, 64, 16384, "largest width or height of a vendor output"),
	I("REEL_MEDIA_MAX_S", "120", media_max_s, 1, 3600, "longest vendor clip"),
	I("REEL_RENDER_CALLBACK_TIMEOUT_S", "600", callback_timeout_s, 1, 86400,
	  "wait for a vendor callback before polling the task"),
	I("REEL_RENDER_MAX_AGE_S", "3600", max_age_s, 1, 604800, "age at which an unfinished vendor task fails"),
	I("REEL_RENDER_POLL_MS", "1000", poll_ms, 20, 600000, "sweeper period, and ComfyUI polling"),
	I("REEL_WEBHOOK_TOLERANCE_S", "300", tolerance_s, 1, 86400, "accepted clock skew of signed callbacks"),
	I("REEL_RENDER_SUBMIT_TIMEOUT_S", "60", submit_timeout_s, 1, 600,
	  "wait for a vendor to accept a render task before retrying it"),
	S("STRIPE_WEBHOOK_SECRET", NULL, CONFIG_SECRET, stripe_secret,
	  "whsec_ secret of Stripe's payment webhooks (POST /webhooks/stripe; needs REEL_BILLING_FILE)"),
	S("LEMONSQUEEZY_WEBHOOK_SECRET", NULL, CONFIG_SECRET, lemonsqueezy_secret,
	  "signing secret of Lemon Squeezy's payment webhooks (POST /webhooks/lemonsqueezy; needs REEL_BILLING_FILE)"),
};
const size_t vendors_n_options = ARRAY_SIZE(vendors_options);

void vendors_result_release(struct vendor_result *r)
{
	for (size_t i = 0; i < r->n_outputs; i++)
		free(r->outputs[i]);
	free(r->get_url);
	free(r->cancel_url);
	free(r->result_url);
	*r = (struct vendor_result){ 0 };
}

void vendors_result_add_output(struct vendor_result *r, const char *url)
{
	if (url && *url && r->n_outputs < VENDOR_MAX_OUTPUTS)
		r->outputs[r->n_outputs++] = xstrdup(url);
}

int vendors_clip_seconds(const char *durations, long est_ms)
{
	int best = 0, longest = 0;
	const char *p = durations ? durations : "";
	while (*p) {
		char *end;
		long s = strtol(p, &end, 10);
		if (end == p)
			break;
		if (s > 0 && s <= 600) {
			if (s * 1000 >= est_ms && (best == 0 || s < best))
				best = (int)s;
			if (s > longest)
				longest = (int)s;
		}
		p = *end == ',' ? end + 1 : end;
	}
	if (best)
		return best;
	return longest ? longest : 5;
}

char *vendors_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;
	if (!f) {
		errbuf_set(err, errlen, "%s: cannot open", path);
		return NULL;
	}
	do {
		if (n + 4096 > cap)
			buf = xrealloc(buf, cap = cap ? cap * 2 : 8192);
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0 && n < (16u << 20));
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static bool set(const char *s)
{
	return s && *s;
}

bool vendors_has_i2v(const struct vendors *v, const char *provider)
{
	if (strcmp(provider, "replicate") == 0)
		return set(v->replicate_i2v_model);
	if (strcmp(provider, "fal") == 0)
		return set(v->fal_i2v_model);
	return strcmp(provider, "comfyui") == 0 && set(v->comfyui_i2v_workflow);
}
