/*
 * Where media lives: REEL_STORAGE_URL, for now file:///path. Keys are
 * relative paths ("jobs/ID/shot-0.jpg"). Writers produce a file under a
 * temporary name on the same filesystem and storage_put moves it into place
 * atomically, so a reader never sees a partial file.
 */
#ifndef REEL_STORAGE_H
#define REEL_STORAGE_H

#include <stddef.h>

#include "util.h"

struct storage; /* owned by the daemon; storage_free releases it */

/* Opens a storage URL; -1 with err naming what is wrong. */
struct storage *storage_open(const char *url, char *err, size_t errlen);
void storage_free(struct storage *st);
/* True when key is a safe relative path (no "..", no leading '/', no empty segment). */
int storage_key_ok(const char *key);
/* The local path of key; the caller frees. */
char *storage_path(const struct storage *st, const char *key);
/* A fresh temporary path on the storage's filesystem ending in suffix; the caller frees. */
char *storage_temp(const struct storage *st, const char *suffix);
/* Moves src (a storage_temp path) to key, creating folders. 0 or -1 with err. */
int storage_put(const struct storage *st, const char *key, const char *src, char *err, size_t errlen) WARN_UNUSED;
/* The URL of key as clients outside see it (file:///... for local storage); the caller frees. */
char *storage_url(const struct storage *st, const char *key);

#endif
