/*
 * Helpers over cJSON for the shapes reelforge reads and writes: typed field
 * access that says what is wrong, and printing to an owned string.
 */
#ifndef REEL_JSON_H
#define REEL_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* A string member or NULL when absent or not a string. */
const char *json_str(const cJSON *obj, const char *name);
/* The item at a dotted path ("data.object.items.data.0.price"; a number
 * indexes an array), or NULL when any step is missing. */
const cJSON *json_at(const cJSON *obj, const char *path);
/* The string at a dotted path, or NULL when absent or not a string. */
const char *json_at_str(const cJSON *obj, const char *path);
/* it as an integer into *out; -1 when it is NULL, not a number, not whole or
 * beyond what a double holds exactly (converting such a value is undefined). */
int json_whole(const cJSON *it, long *out) WARN_UNUSED;
/* An integer member into *out; -1 when absent, not a number or not whole. */
int json_int(const cJSON *obj, const char *name, long *out) WARN_UNUSED;
/* Whether buf holds well-formed UTF-8 without NUL bytes. */
bool json_utf8_valid(const char *buf, size_t len);
/* Parses exactly len bytes (no NUL needed); NULL on malformed JSON, text
 * that is not UTF-8, or a NUL byte raw or escaped (\u0000). The caller frees
 * with cJSON_Delete. */
cJSON *json_parse(const char *buf, size_t len);
/* Compact text of item; the caller frees. */
char *json_print(const cJSON *item);

#endif
