/*
 * What the assembler is asked to build: the shots and the output settings.
 * Borrowed by every file of the merge plugin.
 */
#ifndef REEL_ASSEMBLE_SPEC_H
#define REEL_ASSEMBLE_SPEC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct assemble_shot {
	const char *image_path; /* keyframe still (anything FFmpeg decodes, any size); used without a clip */
	const char *video_path; /* image-to-video clip, or NULL: scaled, cropped, held or trimmed to the span */
	const char *audio_path; /* narration (anything libavformat reads); NULL = silence */
	int64_t duration_ms;    /* the shot's span; narration is padded with silence or trimmed to it */
	const char *camera;     /* zoom_in, zoom_out, pan_left, pan_right, pan_up, pan_down, static; NULL = by index */
	const char *subtitles;  /* an ASS script (libass) burned into the shot, times from its start; NULL = none */
};

struct assemble_spec {
	const struct assemble_shot *shots;
	size_t n_shots;
	int width, height;  /* output frame, even, 16..8192, e.g. 1080x1920 */
	int fps;            /* 1..120, e.g. 25 */
	const char *preset; /* libx264 preset, NULL = "veryfast" */
	int crf;            /* 1..51, 0 = 23 */
	const char *
		transition; /* NULL or "cut", or an xfade kind: fade, dissolve, wipeleft, wiperight, slideleft, slideright */
	int transition_ms;        /* 100..2000 when transition is not a cut */
	const char *music;        /* a bundled track name (media_music_tracks) or a file path; NULL = none */
	const char *cache_dir;    /* each shot's encoded segment is kept here and reused; NULL = not kept */
	const char *out_path;     /* written in place and removed on failure; callers use a temp name */
	const atomic_int *cancel; /* optional: nonzero fails soon with "canceled" */
	void (*progress)(void *arg, double fraction); /* optional; called on the encoding thread */
	void *progress_arg;
};

#endif
