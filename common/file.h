/*
 * Whole files and paths beside the running binary.
 */
#ifndef REEL_FILE_H
#define REEL_FILE_H

#include <stddef.h>

/* path relative to the folder of the running binary ("../lib"); the caller frees. */
char *file_exe_relative(const char *path);
/* The whole file at path (NUL-terminated; *len bytes without it), or NULL when
 * it cannot be read or is larger than max. The caller frees. */
char *file_read_all(const char *path, size_t max, size_t *len);

#endif
