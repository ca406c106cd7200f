/*
 * assemble_mp4: plans the picture as segments (each shot's body, and a
 * crossfade segment on each boundary when the job asks for transitions),
 * encodes the segments the cache lacks, mixes the soundtrack, and joins it
 * all into one fast-start MP4 by copying the segments' packets.
 *
 * DESIGN: everything an encode owns hangs off one struct encode on the
 * caller's stack, so concurrent calls share nothing but FFmpeg's immutable
 * tables and the cache folder, where segments appear by rename only. A
 * segment's cache key is the SHA-256 of everything its pixels depend on
 * (input bytes, camera, frame span, size, encoder settings, burned cues),
 * so a re-merge after one shot changed encodes that shot (and the
 * crossfades beside it) and copies the rest. Shot boundaries are cumulative
 * and rounded once (frames) or exact (48 samples per millisecond): no drift.
 */
#include "assemble.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assemble_join.h"
#include "assemble_mix.h"
#include "assemble_pcm.h"
#include "assemble_picture.h"
#include "assemble_still.h"
#include "assemble_video.h"
#include "errbuf.h"
#include "log.h"
#include "str.h"
#include "banned.h"

#define MAX_SHOT_MS (24LL * 3600 * 1000)
#define MAX_SHOTS 1000

static const char *const kinds[] = { "fade", "dissolve", "wipeleft", "wiperight", "slideleft", "slideright", NULL };

enum seg_kind { BODY, XFADE };

struct seg {
	enum seg_kind kind;
	size_t k;         /* the shot, or the left one of a crossfade */
	int64_t from, to; /* output frames [from, to) */
	char *path;
	int cached;
};

struct encode {
	const struct assemble_spec *sp;
	int64_t *frames;  /* shot k starts at frame frames[k]; n_shots + 1 entries */
	int64_t *samples; /* ... and at sample samples[k] */
	int *tf;          /* crossfade frames on the boundary after shot k (0: cut) */
	char (*shot_id)[65];
	char **ass_path; /* each shot's subtitle script, written once a picture needs it */
	struct assemble__picture **pic;
	struct seg *segs;
	size_t n_segs;
	char *tmpdir; /* scripts and uncached segments */
	int64_t units_total, units_done;
	double reported;
	struct assemble_stats stats;
};

static void on_av_log(void *avcl, int level, const char *fmt, va_list vl)
{
	static _Thread_local int print_prefix = 1;
	char line[1024];
	size_t n;

	if (level > AV_LOG_WARNING)
		return;
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0)
		return;
	/* Our caller reports the failure itself; FFmpeg's text is only context. */
	if (level <= AV_LOG_ERROR)
		log_warn("ffmpeg: %s", line);
	else
		log_debug("ffmpeg: %s", line);
}

void assemble_init(void)
{
	av_log_set_callback(on_av_log);
}

static int check_readable(const char *what, const char *path, char *err, size_t errlen)
{
	if (access(path, R_OK) < 0)
		return errbuf_set(err, errlen, "%s %s: %s", what, path, av_err2str(AVERROR(errno)));
	return 0;
}

static int crossfades(const struct assemble_spec *sp)
{
	return sp->transition && strcmp(sp->transition, "cut") != 0;
}

static int check_settings(const struct assemble_spec *sp, char *err, size_t errlen)
{
	int known = 0;

	if (!sp->shots || sp->n_shots == 0 || sp->n_shots > MAX_SHOTS)
		return errbuf_set(err, errlen, "%zu shots (1..%d)", sp->n_shots, MAX_SHOTS);
	if (sp->width < 16 || sp->width > 8192 || sp->width % 2 || sp->height < 16 || sp->height > 8192 ||
	    sp->height % 2)
		return errbuf_set(err, errlen, "bad frame size %dx%d (even, 16..8192)", sp->width, sp->height);
	if (sp->fps < 1 || sp->fps > 120)
		return errbuf_set(err, errlen, "bad fps %d (1..120)", sp->fps);
	if (sp->crf < 0 || sp->crf > 51)
		return errbuf_set(err, errlen, "bad crf %d (1..51, or 0 for 23)", sp->crf);
	if (!sp->out_path || !*sp->out_path)
		return errbuf_set(err, errlen, "no output path");
	for (int i = 0; crossfades(sp) && kinds[i]; i++)
		known |= strcmp(sp->transition, kinds[i]) == 0;
	if (crossfades(sp) && !known)
		return errbuf_set(err, errlen, "unknown transition \"%s\"", sp->transition);
	if (crossfades(sp) && (sp->transition_ms < 100 || sp->transition_ms > 2000))
		return errbuf_set(err, errlen, "transition_ms %d (100..2000)", sp->transition_ms);
	return 0;
}

static int check_spec(const struct assemble_spec *sp, char *err, size_t errlen)
{
	if (check_settings(sp, err, errlen) < 0)
		return -1;
	for (size_t k = 0; k < sp->n_shots; k++) {
		const struct assemble_shot *s = &sp->shots[k];

		if (s->duration_ms <= 0 || s->duration_ms > MAX_SHOT_MS)
			return errbuf_set(err, errlen, "shot %zu: bad duration %lld ms", k, (long long)s->duration_ms);
		if (s->video_path && *s->video_path) {
			if (check_readable("clip", s->video_path, err, errlen) < 0)
				return -1;
		} else if (!s->image_path || !*s->image_path) {
			return errbuf_set(err, errlen, "shot %zu: no image", k);
		} else if (check_readable("image", s->image_path, err, errlen) < 0) {
			return -1;
		}
		if (s->audio_path && *s->audio_path && check_readable("audio", s->audio_path, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Frame and sample boundaries of every shot, and the crossfade lengths. */
static int plan_spans(struct encode *e, char *err, size_t errlen)
{
	const struct assemble_spec *sp = e->sp;
	int64_t ms = 0, want = crossfades(sp) ? ((int64_t)sp->transition_ms * sp->fps + 500) / 1000 : 0;

	e->frames = xcalloc(sp->n_shots + 1, sizeof(*e->frames));
	e->samples = xcalloc(sp->n_shots + 1, sizeof(*e->samples));
	e->tf = xcalloc(sp->n_shots, sizeof(*e->tf));
	for (size_t k = 0; k <= sp->n_shots; k++) {
		e->frames[k] = (ms * sp->fps + 500) / 1000;
		e->samples[k] = ms * (ASSEMBLE__RATE / 1000);
		if (k < sp->n_shots)
			ms += sp->shots[k].duration_ms;
	}
	for (size_t k = 0; k + 1 < sp->n_shots; k++) {
		int64_t a = e->frames[k + 1] - e->frames[k], b = e->frames[k + 2] - e->frames[k + 1];
		int64_t t = want < a / 2 ? want : a / 2;

		t = t < b / 2 ? t : b / 2;
		e->tf[k] = t >= 2 ? (int)t : 0; /* too short to cross: cut */
	}
	for (size_t k = 0; k < sp->n_shots; k++)
		if (e->frames[k + 1] <= e->frames[k])
			return errbuf_set(err, errlen, "shot %zu: %lld ms is shorter than a frame", k,
					  (long long)sp->shots[k].duration_ms);
	return 0;
}

/* The identity of shot k's pictures: input bytes, move, length, size, encoder, cues. */
static int identify(struct encode *e, size_t k, char *err, size_t errlen)
{
	const struct assemble_spec *sp = e->sp;
	const struct assemble_shot *s = &sp->shots[k];
	const char *input = s->video_path && *s->video_path ? s->video_path : s->image_path;
	char content[65], ass_hash[65] = "", *desc;
	int64_t bytes;

	if (assemble_files_sha256(input, content, &bytes) < 0)
		return errbuf_set(err, errlen, "%s %s: cannot read", input == s->video_path ? "clip" : "image", input);
	if (s->subtitles)
		assemble__sha256(s->subtitles, strlen(s->subtitles), ass_hash);
	desc = xasprintf("seg2|%s|%s|%lld|%s|%lld|%dx%d@%d|%s|%d|%s|%s", input == s->video_path ? "clip" : "still",
			 content, (long long)bytes, assemble__camera(s, k),
			 (long long)(e->frames[k + 1] - e->frames[k]), sp->width, sp->height, sp->fps,
			 sp->preset ? sp->preset : "veryfast", sp->crf ? sp->crf : 23, LIBAVCODEC_IDENT, ass_hash);
	assemble__sha256(desc, strlen(desc), e->shot_id[k]);
	free(desc);
	return 0;
}

static void add_seg(struct encode *e, enum seg_kind kind, size_t k, int64_t from, int64_t to)
{
	const struct assemble_spec *sp = e->sp;
	struct seg *s = &e->segs[e->n_segs++];
	char key[65], *desc;

	s->kind = kind;
	s->k = k;
	s->from = from;
	s->to = to;
	desc = xasprintf("%s|%s|%s|%lld|%lld", kind == BODY ? "body" : sp->transition, e->shot_id[k],
			 kind == XFADE ? e->shot_id[k + 1] : "", (long long)(from - e->frames[k]),
			 (long long)(to - e->frames[k]));
	assemble__sha256(desc, strlen(desc), key);
	free(desc);
	if (sp->cache_dir)
		s->path = xasprintf("%s/%s.mp4", sp->cache_dir, key);
	else
		s->path = xasprintf("%s/seg-%zu.mp4", e->tmpdir, e->n_segs);
	s->cached = sp->cache_dir && access(s->path, R_OK) == 0;
	if (s->cached)
		e->stats.segments_reused++;
	else
		e->units_total += to - from;
}

static int plan_segments(struct encode *e, char *err, size_t errlen)
{
	const struct assemble_spec *sp = e->sp;
	size_t n = sp->n_shots;

	e->shot_id = xcalloc(n, sizeof(*e->shot_id));
	e->ass_path = xcalloc(n, sizeof(*e->ass_path));
	e->pic = xcalloc(n, sizeof(*e->pic));
	e->segs = xcalloc(2 * n, sizeof(*e->segs));
	for (size_t k = 0; k < n; k++)
		if (identify(e, k, err, errlen) < 0)
			return -1;
	for (size_t k = 0; k < n; k++) {
		int head = k > 0 ? e->tf[k - 1] - e->tf[k - 1] / 2 : 0, tail = e->tf[k] / 2;

		if (e->frames[k + 1] - tail > e->frames[k] + head)
			add_seg(e, BODY, k, e->frames[k] + head, e->frames[k + 1] - tail);
		if (k + 1 < n && e->tf[k])
			add_seg(e, XFADE, k, e->frames[k + 1] - tail, e->frames[k + 1] - tail + e->tf[k]);
	}
	/* Joining the segments reads every frame once more, at a fraction of the cost. */
	e->units_total += e->frames[n] / 8 + 1;
	return 0;
}

static void report(struct encode *e, int64_t units)
{
	double f;

	e->units_done += units;
	f = (double)e->units_done / (double)e->units_total;
	if (!e->sp->progress || (f - e->reported < 0.01 && f < 1))
		return;
	e->reported = f;
	e->sp->progress(e->sp->progress_arg, f < 1 ? f : 1);
}

static int canceled(const struct encode *e, char *err, size_t errlen)
{
	if (e->sp->cancel && atomic_load(e->sp->cancel))
		return errbuf_set(err, errlen, "canceled");
	return 0;
}

/* Shot k's pictures, opened on first use (its subtitle script written then). */
static struct assemble__picture *picture(struct encode *e, size_t k, char *err, size_t errlen)
{
	const char *ass = e->sp->shots[k].subtitles;

	if (e->pic[k])
		return e->pic[k];
	if (ass && !e->ass_path[k]) {
		FILE *f;
		int bad;

		e->ass_path[k] = xasprintf("%s/shot-%zu.ass", e->tmpdir, k);
		f = fopen(e->ass_path[k], "w");
		bad = !f || fputs(ass, f) < 0;
		if (f && fclose(f) != 0)
			bad = 1;
		if (bad) {
			errbuf_set(err, errlen, "cannot write %s", e->ass_path[k]);
			return NULL;
		}
	}
	e->pic[k] = assemble__picture_new(e->sp, k, e->frames[k + 1] - e->frames[k], e->ass_path[k], err, errlen);
	return e->pic[k];
}

/* Frees the pictures of shots before k: no later segment needs them. */
static void forget_before(struct encode *e, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		assemble__picture_free(e->pic[i]);
		e->pic[i] = NULL;
	}
}

static int body_frames(struct encode *e, const struct seg *s, struct assemble__segment *out, char *err, size_t errlen)
{
	struct assemble__picture *p = picture(e, s->k, err, errlen);

	for (int64_t g = s->from; p && g < s->to; g++) {
		const struct AVFrame *f;

		if (canceled(e, err, errlen) < 0 ||
		    !(f = assemble__picture_frame(p, g - e->frames[s->k], err, errlen)) ||
		    assemble__segment_add(out, f, err, errlen) < 0)
			return -1;
		report(e, 1);
	}
	return p ? 0 : -1;
}

static int xfade_frames(struct encode *e, const struct seg *s, struct assemble__segment *out, char *err, size_t errlen)
{
	struct assemble__picture *a = picture(e, s->k, err, errlen), *b = a ? picture(e, s->k + 1, err, errlen) : NULL;
	struct assemble__xfade *x = b ? assemble__xfade_new(e->sp, (int)(s->to - s->from), err, errlen) : NULL;
	int rc = x ? 0 : -1;

	for (int64_t g = s->from; rc == 0 && g < s->to; g++) {
		const struct AVFrame *fa = assemble__picture_frame(a, g - e->frames[s->k], err, errlen), *fb;

		fb = fa ? assemble__picture_frame(b, g - e->frames[s->k + 1], err, errlen) : NULL;
		rc = canceled(e, err, errlen);
		if (rc == 0 && (!fb || assemble__xfade_push(x, fa, fb, out, err, errlen) < 0))
			rc = -1;
		report(e, 1);
	}
	if (rc == 0)
		rc = assemble__xfade_push(x, NULL, NULL, out, err, errlen);
	/* xfade may end a frame early; the next shot's picture fills in. */
	while (rc == 0 && assemble__segment_frames(out) < s->to - s->from) {
		const struct AVFrame *f = assemble__picture_frame(b, s->to - e->frames[s->k + 1], err, errlen);

		rc = f ? assemble__segment_add(out, f, err, errlen) : -1;
	}
	assemble__xfade_free(x);
	return rc;
}

/* Encodes segment s under a temporary name and renames it into place. */
static int encode_seg(struct encode *e, const struct seg *s, char *err, size_t errlen)
{
	char suffix[40], *tmp;
	struct assemble__segment *out;
	int rc;

	str_random_hex(suffix, 8);
	tmp = xasprintf("%s.%s.tmp", s->path, suffix);
	forget_before(e, s->k);
	out = assemble__segment_new(e->sp, tmp, err, errlen);
	rc = out ? 0 : -1;
	if (rc == 0)
		rc = s->kind == BODY ? body_frames(e, s, out, err, errlen) : xfade_frames(e, s, out, err, errlen);
	if (out && assemble__segment_close(out, rc < 0, rc < 0 ? NULL : err, errlen) < 0)
		rc = -1;
	if (rc == 0 && rename(tmp, s->path) < 0)
		rc = errbuf_set(err, errlen, "cannot store segment %s: %s", s->path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	else
		e->stats.segments_encoded++;
	free(tmp);
	return rc;
}

static int make_tmpdir(struct encode *e, char *err, size_t errlen)
{
	const char *slash = strrchr(e->sp->out_path, '/');

	e->tmpdir = slash ? xasprintf("%.*s/assemble-XXXXXX", (int)(slash - e->sp->out_path), e->sp->out_path)
			  : xstrdup("assemble-XXXXXX");
	if (!mkdtemp(e->tmpdir)) {
		int saved = errno;

		free(e->tmpdir);
		e->tmpdir = NULL;
		return errbuf_set(err, errlen, "cannot make a work folder beside %s: %s", e->sp->out_path,
				  strerror(saved));
	}
	return 0;
}

static void release(struct encode *e)
{
	size_t n = e->sp->n_shots;

	for (size_t k = 0; e->pic && k < n; k++)
		assemble__picture_free(e->pic[k]);
	for (size_t k = 0; e->ass_path && k < n; k++) {
		if (e->ass_path[k])
			unlink(e->ass_path[k]);
		free(e->ass_path[k]);
	}
	for (size_t i = 0; i < e->n_segs; i++) {
		if (!e->sp->cache_dir)
			unlink(e->segs[i].path);
		free(e->segs[i].path);
	}
	if (e->tmpdir)
		rmdir(e->tmpdir);
	free(e->tmpdir);
	free(e->pic);
	free(e->ass_path);
	free(e->shot_id);
	free(e->segs);
	free(e->frames);
	free(e->samples);
	free(e->tf);
}

static void on_joined(void *arg, int64_t frames)
{
	report(arg, frames / 8);
}

static int join(struct encode *e, const struct assemble__pcm *pcm, char *err, size_t errlen)
{
	const char **paths = xcalloc(e->n_segs, sizeof(*paths));
	int64_t *from = xcalloc(e->n_segs, sizeof(*from)), *to = xcalloc(e->n_segs, sizeof(*to));
	int rc;

	for (size_t i = 0; i < e->n_segs; i++) {
		paths[i] = e->segs[i].path;
		from[i] = e->segs[i].from;
		to[i] = e->segs[i].to;
	}
	rc = assemble__join(e->sp, paths, from, to, e->n_segs, pcm, on_joined, e, err, errlen);
	free(paths);
	free(from);
	free(to);
	return rc;
}

int assemble_mp4(const struct assemble_spec *spec, struct assemble_stats *stats, char *err, size_t errlen)
{
	struct encode e = { .sp = spec };
	struct assemble__pcm pcm = { 0 };
	int rc;

	if (check_spec(spec, err, errlen) < 0)
		return -1;
	rc = make_tmpdir(&e, err, errlen);
	if (rc == 0)
		rc = plan_spans(&e, err, errlen);
	if (rc == 0)
		rc = plan_segments(&e, err, errlen);
	for (size_t i = 0; rc == 0 && i < e.n_segs; i++)
		if (!e.segs[i].cached)
			rc = encode_seg(&e, &e.segs[i], err, errlen);
	forget_before(&e, spec->n_shots);
	if (rc == 0)
		rc = canceled(&e, err, errlen);
	if (rc == 0)
		rc = assemble__mix(spec, e.samples, e.samples[spec->n_shots], &pcm, &e.stats.loudness, err, errlen);
	if (rc == 0)
		rc = join(&e, &pcm, err, errlen);
	if (rc == 0) {
		e.units_done = e.units_total - 1;
		report(&e, 1);
	}
	if (stats)
		*stats = e.stats;
	assemble__pcm_release(&pcm);
	release(&e);
	return rc;
}
