/*
 * Where media lives: REEL_STORAGE_URL, file:///path or s3://BUCKET[/PREFIX].
 * Keys are relative paths ("jobs/ID/shot-0.jpg"). Writers produce a file
 * under a storage_temp name and storage_put moves it into place atomically
 * (a rename, or an upload), so a reader never sees a partial file. Readers
 * take a local copy with storage_fetch: the file itself on file:// storage,
 * a download on S3, so no daemon needs a path another one wrote.
 */
#ifndef REEL_STORAGE_H
#define REEL_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/types.h>

#include "s3.h"
#include "util.h"

struct storage; /* owned by the daemon; storage_free releases it */

/* Opens a storage URL (s3 settings only for s3://, may be NULL otherwise); NULL with err naming what is wrong. */
struct storage *storage_open(const char *url, const struct s3_config *s3, char *err, size_t errlen);
void storage_free(struct storage *st);
/* True when key is a safe relative path (no "..", no leading '/', no empty segment). */
int storage_key_ok(const char *key);
/* True for file:// storage, whose keys are files with a storage_path. */
bool storage_is_local(const struct storage *st);
/* The local path of key on file:// storage (asserted); the caller frees. */
char *storage_path(const struct storage *st, const char *key);
/* A local file holding key, to read (never to change): the stored file itself on
 * file:// storage, a fresh download on S3. NULL with err when S3 fails; on file://
 * a missing key shows when the path is opened. Release it with storage_drop. */
char *storage_fetch(const struct storage *st, const char *key, char *err, size_t errlen);
/* Releases a storage_fetch path (deleting a download); path may be NULL. */
void storage_drop(const struct storage *st, char *path);
/* A fresh temporary path (on the storage's filesystem, or the local TMPDIR for S3) ending in suffix; the caller frees. */
char *storage_temp(const struct storage *st, const char *suffix);
/* Moves src (a storage_temp path) to key, creating folders; src is gone after a success. 0 or -1 with err. */
int storage_put(const struct storage *st, const char *key, const char *src, char *err, size_t errlen) WARN_UNUSED;
/* Deletes key; a key already gone is not an error. 0 or -1 with err. */
int storage_delete(const struct storage *st, const char *key, char *err, size_t errlen) WARN_UNUSED;
/* The URL of key as clients outside see it (file:///... for local storage); the caller frees. */
char *storage_url(const struct storage *st, const char *key);
/* A presigned GET of key valid ttl_s seconds on S3; NULL on file:// storage. The caller frees. */
char *storage_presign(const struct storage *st, const char *key, long ttl_s);
/* A presigned PUT of key valid ttl_s seconds on S3, the upload to carry content_type
 * (signed) when not NULL; NULL on file:// storage. The caller frees. */
char *storage_presign_put(const struct storage *st, const char *key, long ttl_s, const char *content_type);
/* The size of key: 0, 1 when there is no such object, -1 with err on other failures (S3 only). */
int storage_size(const struct storage *st, const char *key, off_t *size, char *err, size_t errlen) WARN_UNUSED;
/* Reads exactly len bytes of key from first into buf (S3 only). */
int storage_read(const struct storage *st, const char *key, off_t first, size_t len, char *buf, char *err,
		 size_t errlen) WARN_UNUSED;

#endif
