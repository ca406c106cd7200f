/*
 * What a merge leaves in storage besides the cache: the video, poster,
 * subtitles and the manifest listing every asset of the job (its inputs
 * too) with type, size, duration and SHA-256, plus the jobs.output object
 * naming their keys.
 */
#ifndef REEL_MERGE_OUTPUT_H
#define REEL_MERGE_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct storage;

/* Hashes a file: SHA-256 hex and size (the assembler plugin's). */
typedef int (*merge_hash_fn)(const char *path, char hex[65], int64_t *bytes);

struct merge_asset {
	char *key;
	const char *type; /* MIME type */
	int64_t bytes;
	int64_t duration_ms; /* -1 when it has none */
	char sha256[65];
};

/* A job's assets; caller-owned, merge_output_release frees them. */
struct merge_output {
	struct storage *storage;
	merge_hash_fn hash;
	const char *job;
	struct merge_asset *assets;
	size_t n;
};

void merge_output_init(struct merge_output *o, struct storage *st, merge_hash_fn hash, const char *job);
void merge_output_release(struct merge_output *o);
/* Hashes tmp (a storage_temp file) and moves it to key. */
int merge_output_put(struct merge_output *o, const char *tmp, const char *key, const char *type, int64_t duration_ms,
		     char *err, size_t errlen) WARN_UNUSED;
/* Writes text to key through a temporary file. */
int merge_output_put_text(struct merge_output *o, const char *text, const char *key, const char *type, char *err,
			  size_t errlen) WARN_UNUSED;
/* Lists a file already in storage (a shot's image, clip or narration) as key, hashing its local copy at path. */
int merge_output_note(struct merge_output *o, const char *path, const char *key, int64_t duration_ms, char *err,
		      size_t errlen) WARN_UNUSED;
/* The manifest document {"job","assets":[...]}; the caller frees. */
char *merge_output_manifest(const struct merge_output *o);

#endif
