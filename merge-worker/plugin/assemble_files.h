/*
 * Files around the assembly: the poster frame and content hashes.
 */
#ifndef REEL_ASSEMBLE_FILES_H
#define REEL_ASSEMBLE_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Writes a JPEG of the picture of mp4_path at at_ms (or its last frame) to jpg_path. */
int assemble_files_poster(const char *mp4_path, int64_t at_ms, const char *jpg_path, char *err,
			  size_t errlen) WARN_UNUSED;

/* SHA-256 of a file as 64 hex digits plus NUL, and its size. */
int assemble_files_sha256(const char *path, char hex[65], int64_t *bytes) WARN_UNUSED;

/* SHA-256 of n bytes as 64 hex digits plus NUL. */
void assemble__sha256(const void *data, size_t n, char hex[65]);

#endif
