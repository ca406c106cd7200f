/*
 * Builds the finished MP4 in-process with FFmpeg's libraries: stills with a
 * camera move or image-to-video clips, cut or crossfaded, narration laid
 * sample-exactly under each shot, optional music ducked under the voice, the
 * mix loudness-normalised, subtitles optionally burned in with libass.
 */
#ifndef REEL_ASSEMBLE_H
#define REEL_ASSEMBLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

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
	int width, height;      /* output frame, even, 16..8192, e.g. 1080x1920 */
	int fps;                /* 1..120, e.g. 25 */
	const char *preset;     /* libx264 preset, NULL = "veryfast" */
	int crf;                /* 1..51, 0 = 23 */
	const char *transition; /* NULL or "cut", or an xfade kind: fade, dissolve, wipeleft, wiperight, slideleft, slideright */
	int transition_ms;      /* 100..2000 when transition is not a cut */
	const char *music;      /* a bundled track name (media_music_tracks) or a file path; NULL = none */
	const char *cache_dir;  /* each shot's encoded segment is kept here and reused; NULL = not kept */
	const char *out_path;   /* written in place and removed on failure; callers use a temp name */
	const atomic_int *cancel;                     /* optional: nonzero fails soon with "canceled" */
	void (*progress)(void *arg, double fraction); /* optional; called on the encoding thread */
	void *progress_arg;
};

/* What an assembly did, for logs, metrics and tests. */
struct assemble_stats {
	int segments_encoded; /* picture segments encoded by this call */
	int segments_reused;  /* found in cache_dir */
	double loudness;      /* integrated loudness of the mix before normalising, LUFS */
};

/* The bundled, generated music tracks, NULL-terminated. */

/*
 * Encodes spec into spec->out_path. Blocking and CPU-heavy: run it on the
 * thread pool; several calls may run at once. Shot k occupies exactly
 * [sum of earlier durations, + its own) (a transition is centred on the
 * boundary) and the file lasts the sum of the durations (video rounded to
 * whole frames). spec and its strings are only borrowed for the call. 0, or
 * -1 with err naming the offending file or setting ("canceled" when
 * spec->cancel stopped it). stats may be NULL.
 */
int assemble_mp4(const struct assemble_spec *spec, struct assemble_stats *stats, char *err, size_t errlen) WARN_UNUSED;

/* Writes a JPEG of the picture of mp4_path at at_ms (or its last frame) to jpg_path. */
int assemble_poster(const char *mp4_path, int64_t at_ms, const char *jpg_path, char *err, size_t errlen) WARN_UNUSED;

/* SHA-256 of a file as 64 hex digits plus NUL, and its size. */
int assemble_sha256_file(const char *path, char hex[65], int64_t *bytes) WARN_UNUSED;

/* Routes FFmpeg's own warnings into log_* instead of raw stderr; call once at
 * start, before any thread encodes (it sets FFmpeg's process-wide callback). */
void assemble_init(void);

/* ---- internal to merge-worker/plugin/assemble*.c ---- */

#define ASSEMBLE__RATE 48000 /* output audio sample rate */

struct AVFormatContext;
struct AVCodecContext;
struct AVStream;
struct AVFrame;

/* Sends frame (NULL flushes) to enc and writes every packet it yields to st. */
int assemble__encode(struct AVFormatContext *oc, struct AVCodecContext *enc, struct AVStream *st,
		     const struct AVFrame *frame, char *err, size_t errlen) WARN_UNUSED;

/* SHA-256 of n bytes as 64 hex digits plus NUL. */
void assemble__sha256(const void *data, size_t n, char hex[65]);

/* Stereo float audio held in memory. */
struct assemble__pcm {
	float *ch[2];
	int64_t n; /* samples per channel */
};
void assemble__pcm_alloc(struct assemble__pcm *p, int64_t n);
void assemble__pcm_release(struct assemble__pcm *p);

/* Narration of shot k laid from starts[k] to starts[k+1] (trimmed, padded)
 * into voice, and the music looped to the same length (none: music.n = 0). */
int assemble__voice_and_music(const struct assemble_spec *sp, const int64_t *starts, int64_t total,
			      struct assemble__pcm *voice, struct assemble__pcm *music, char *err,
			      size_t errlen) WARN_UNUSED;
/* The whole soundtrack: narration of shot k from starts[k] for spans[k]
 * samples, music looped and ducked, faded out, normalised to -14 LUFS. */
int assemble__mix(const struct assemble_spec *sp, const int64_t *starts, int64_t total, struct assemble__pcm *out,
		  double *loudness, char *err, size_t errlen) WARN_UNUSED;
/* A bundled track of n samples; -1 when name is not one. */
int assemble__track(const char *name, struct assemble__pcm *out, int64_t n);
/* Integrated loudness of pcm (ebur128), LUFS; -70 or lower for silence. */
int assemble__loudness(const struct assemble__pcm *pcm, double *lufs, char *err, size_t errlen) WARN_UNUSED;

/* The AAC track of the output, encoded from a pcm buffer as the video advances. */
struct assemble__aac;
struct assemble__aac *assemble__aac_new(struct AVFormatContext *oc, char *err, size_t errlen);
/* Encodes pcm up to sample `until` (clamped to pcm->n). */
int assemble__aac_write(struct assemble__aac *a, const struct assemble__pcm *pcm, int64_t until, char *err,
			size_t errlen) WARN_UNUSED;
int assemble__aac_finish(struct assemble__aac *a, const struct assemble__pcm *pcm, char *err, size_t errlen) WARN_UNUSED;
void assemble__aac_free(struct assemble__aac *a);

/* A shot's pictures at the output size, camera move or clip, subtitles burned. */
struct assemble__picture;
struct assemble__picture *assemble__picture_new(const struct assemble_spec *sp, size_t k, int64_t n_frames,
						const char *ass_path, char *err, size_t errlen);
/* Frame i of the shot (clamped into the shot); i never goes backwards. The
 * frame stays the picture's, valid until the next call. */
const struct AVFrame *assemble__picture_frame(struct assemble__picture *p, int64_t i, char *err, size_t errlen);
void assemble__picture_free(struct assemble__picture *p);
/* The camera move of shot k (its own, or the one its index picks), as a name. */
const char *assemble__camera(const struct assemble_shot *s, size_t k);

/* A still decoded once and scaled to cover the frame with room for the move. */
struct assemble__still;
struct assemble__still *assemble__still_new(const char *path, int width, int height, const char *camera, char *err,
					    size_t errlen);
/* Draws the still at position u (0 = start of the move, 1 = its end) into out (yuv420p, output size). */
void assemble__still_render(struct assemble__still *s, double u, struct AVFrame *out);
void assemble__still_free(struct assemble__still *s);
/* Decodes the first picture of path, refusing more than the pixel limit. */
int assemble__decode_image(const char *path, struct AVFrame *frame, char *err, size_t errlen) WARN_UNUSED;

/* A video-only H.264 segment being written. */
struct assemble__segment;
struct assemble__segment *assemble__segment_new(const struct assemble_spec *sp, const char *path, char *err,
						size_t errlen);
/* Appends a frame (its pts is set here). */
int assemble__segment_add(struct assemble__segment *s, const struct AVFrame *f, char *err, size_t errlen) WARN_UNUSED;
/* Finishes the file; 0 or -1 (the file is removed on -1 or when failed). */
int assemble__segment_close(struct assemble__segment *s, int failed, char *err, size_t errlen);
/* Frames appended so far. */
int64_t assemble__segment_frames(const struct assemble__segment *s);

/* Writes spec->out_path (fast start): the n segments' packets copied in
 * order, segment i covering output frames [from[i], to[i]), and pcm as AAC.
 * tick(arg, frames) reports progress; spec->cancel stops it. */
int assemble__join(const struct assemble_spec *sp, const char *const *paths, const int64_t *from, const int64_t *to,
		   size_t n, const struct assemble__pcm *pcm, void (*tick)(void *arg, int64_t frames), void *arg,
		   char *err, size_t errlen) WARN_UNUSED;

/* Crossfades n frames pairwise from two pictures with an xfade kind. */
struct assemble__xfade;
struct assemble__xfade *assemble__xfade_new(const struct assemble_spec *sp, int n, char *err, size_t errlen);
/* Pushes frames a and b (NULL, NULL at the end) and appends what comes out to seg. */
int assemble__xfade_push(struct assemble__xfade *x, const struct AVFrame *a, const struct AVFrame *b,
			 struct assemble__segment *seg, char *err, size_t errlen) WARN_UNUSED;
void assemble__xfade_free(struct assemble__xfade *x);

#endif
