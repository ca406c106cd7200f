/*
 * The render providers' registry, and what several of them share:
 * the keyframe read back from storage for image-to-video models, the
 * Authorization header and the task key that finds a lost submission.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "errbuf.h"
#include "render_provider.h"
#include "storage.h"
#include "str.h"
#include "banned.h"

static const struct render_provider render_offline = {
	.info = { .name = "offline", .summary = "draws a keyframe (and a camera-move clip) on this machine" },
};

/* The registry: one line per provider (and its name among the externs). */
extern const struct render_provider render_replicate, render_fal, render_comfyui;
static const struct provider_info *const all[] = {
	&render_offline.info,
	&render_replicate.info,
	&render_fal.info,
	&render_comfyui.info,
};
const struct provider_registry render_registry = { "render", all, ARRAY_SIZE(all) };

const struct render_provider *render_provider_find(const char *name)
{
	const struct provider_info *i = provider_find(&render_registry, name);
	const struct render_provider *p = i ? provider_of(struct render_provider, i) : NULL;
	return p && p->build ? p : NULL;
}

char *render_provider_image_base64(const struct render_state *st, const struct render_shot *s, char *err, size_t errlen)
{
	size_t len;
	if (!s->image_key || !storage_key_ok(s->image_key)) {
		errbuf_set(err, errlen, "the shot has no stored keyframe to animate");
		return NULL;
	}
	char *path = storage_fetch(st->storage, s->image_key, err, errlen);
	char *bytes = path ? vendors_read_file(path, &len, err, errlen) : NULL;
	storage_drop(st->storage, path);
	if (!bytes)
		return NULL;
	char *b64 = base64_encode((const unsigned char *)bytes, len);
	free(bytes);
	return b64;
}

char *render_provider_image_data_uri(const struct render_state *st, const struct render_shot *s, char *err,
				     size_t errlen)
{
	char *b64 = render_provider_image_base64(st, s, err, errlen);
	if (!b64)
		return NULL;
	const char *dot = strrchr(s->image_key, '.');
	const char *mime = dot && strcmp(dot, ".png") == 0    ? "image/png"
			   : dot && strcmp(dot, ".webp") == 0 ? "image/webp"
							      : "image/jpeg";
	char *uri = xasprintf("data:%s;base64,%s", mime, b64);
	free(b64);
	return uri;
}

void render_provider_json_headers(struct render_request *out, const char *scheme, const char *secret)
{
	out->headers[out->n_headers++] = xstrdup("Content-Type: application/json");
	if (scheme && secret && *secret)
		out->headers[out->n_headers++] = xasprintf("Authorization: %s %s", scheme, secret);
}

void render_provider_task_key(const struct render_shot *s, char out[RENDER_TASK_KEY_LEN])
{
	char seed[48];
	snprintf(seed, sizeof(seed), "%ld/%d", s->seed, s->generation);
	uint32_t h = str_hash(s->prompt) ^ str_hash(seed) * 31u;
	/* The job's UUID with its last group made of the shot, the kind and the hash. */
	snprintf(out, RENDER_TASK_KEY_LEN, "%.24s%04x%x%07x", s->job, (unsigned)s->index & 0xffffu, s->video ? 1u : 0u,
		 (unsigned)(h & 0xfffffffu));
}
