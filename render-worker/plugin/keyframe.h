/*
 * The offline render provider's drawing: one JPEG keyframe per shot, made with
 * libavfilter from the shot's prompt alone — a background seeded by a hash of
 * the prompt (so shots look distinct and re-renders are identical) with the
 * prompt's words wrapped and drawn on it in a CJK-capable font.
 */
#ifndef REEL_KEYFRAME_H
#define REEL_KEYFRAME_H

#include <stddef.h>

#include "util.h"

/* Smallest and largest width or height keyframe_draw accepts. */
#define KEYFRAME_MIN_SIDE 16
#define KEYFRAME_MAX_SIDE 8192

/* The font file keyframe_draw would use (a static string), or NULL when none
 * of the known CJK fonts is installed; daemons call it at start to refuse to
 * run without one. Build with -DKEYFRAME_FONT='"/path"' to try a font first. */
const char *keyframe_font(void);

/* Draws a keyframe for prompt (UTF-8; invalid bytes are dropped, an empty
 * prompt gives the bare background) at width x height as a JPEG at out_path,
 * written in place. Deterministic per (prompt, size). Thread-safe; uses a
 * short-lived temporary file under $TMPDIR or /tmp. 0 or -1 with err. */
int keyframe_draw(const char *prompt, int width, int height, const char *out_path, char *err,
		  size_t errlen) WARN_UNUSED;

struct AVFilterGraph;
struct AVFilterContext;
/* Shared with motion_clip.c: true when s may be pasted into a filter graph
 * description as it is (letters, digits, "/._+-"). */
int keyframe__plain_path(const char *s);
/* Shared with motion_clip.c: a configured single-threaded graph from desc
 * whose open output feeds *sink; the caller frees *graph. 0 or -1 with err. */
int keyframe__graph_open(const char *desc, struct AVFilterGraph **graph, struct AVFilterContext **sink, char *err,
			 size_t errlen) WARN_UNUSED;

#endif
