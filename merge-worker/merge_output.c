/*
 * The job's assets in storage and its manifest. Every file is hashed before
 * it is moved into place, so the manifest describes exactly what readers
 * get; types follow the file name for inputs the other stages wrote.
 */
#include "merge_output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "errbuf.h"
#include "json.h"
#include "storage.h"
#include "banned.h"

void merge_output_init(struct merge_output *o, struct storage *st, merge_hash_fn hash, const char *job)
{
	memset(o, 0, sizeof(*o));
	o->storage = st;
	o->hash = hash;
	o->job = job;
}

void merge_output_release(struct merge_output *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->assets[i].key);
	free(o->assets);
	o->assets = NULL;
	o->n = 0;
}

static int add(struct merge_output *o, const char *path, const char *key, const char *type, int64_t duration_ms,
	       char *err, size_t errlen)
{
	struct merge_asset a = { .type = type, .duration_ms = duration_ms };

	if (o->hash(path, a.sha256, &a.bytes) < 0)
		return errbuf_set(err, errlen, "cannot read %s to checksum it", key);
	a.key = xstrdup(key);
	o->assets = xrealloc(o->assets, (o->n + 1) * sizeof(*o->assets));
	o->assets[o->n++] = a;
	return 0;
}

int merge_output_put(struct merge_output *o, const char *tmp, const char *key, const char *type, int64_t duration_ms,
		     char *err, size_t errlen)
{
	if (add(o, tmp, key, type, duration_ms, err, errlen) < 0)
		return -1;
	return storage_put(o->storage, key, tmp, err, errlen);
}

int merge_output_put_text(struct merge_output *o, const char *text, const char *key, const char *type, char *err,
			  size_t errlen)
{
	char *tmp = storage_temp(o->storage, ".txt");
	FILE *f = fopen(tmp, "wb");
	size_t n = strlen(text);
	int rc = f && fwrite(text, 1, n, f) == n ? 0 : -1;

	if (f && fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		errbuf_set(err, errlen, "cannot write %s", key);
	else
		rc = merge_output_put(o, tmp, key, type, -1, err, errlen);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* The MIME type of an input file by its name. */
static const char *type_of(const char *key)
{
	static const char *const map[][2] = { { ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" },
					      { ".png", "image/png" },  { ".webp", "image/webp" },
					      { ".mp4", "video/mp4" },  { ".webm", "video/webm" },
					      { ".wav", "audio/wav" },  { ".mp3", "audio/mpeg" },
					      { ".ogg", "audio/ogg" } };
	const char *dot = strrchr(key, '.');

	for (size_t i = 0; dot && i < ARRAY_SIZE(map); i++)
		if (strcasecmp(dot, map[i][0]) == 0)
			return map[i][1];
	return "application/octet-stream";
}

int merge_output_note(struct merge_output *o, const char *path, const char *key, int64_t duration_ms, char *err,
		      size_t errlen)
{
	return add(o, path, key, type_of(key), duration_ms, err, errlen);
}

char *merge_output_manifest(const struct merge_output *o)
{
	cJSON *doc = cJSON_CreateObject(), *list = cJSON_CreateArray();
	char *text;

	cJSON_AddStringToObject(doc, "job", o->job);
	for (size_t i = 0; i < o->n; i++) {
		const struct merge_asset *a = &o->assets[i];
		cJSON *item = cJSON_CreateObject();

		cJSON_AddStringToObject(item, "key", a->key);
		cJSON_AddStringToObject(item, "type", a->type);
		cJSON_AddNumberToObject(item, "bytes", (double)a->bytes);
		if (a->duration_ms >= 0)
			cJSON_AddNumberToObject(item, "duration_ms", (double)a->duration_ms);
		cJSON_AddStringToObject(item, "sha256", a->sha256);
		cJSON_AddItemToArray(list, item);
	}
	cJSON_AddItemToObject(doc, "assets", list);
	text = json_print(doc);
	cJSON_Delete(doc);
	return text;
}
