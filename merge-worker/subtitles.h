/*
 * Subtitle cues of a job: taken from each shot's measured timings, or
 * estimated from its narration (CJK-aware: a Han character takes longer to
 * say and twice the width of a Latin letter), then written as SRT and WebVTT
 * or handed to the assembler to burn in.
 */
#ifndef REEL_SUBTITLES_H
#define REEL_SUBTITLES_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct subs_cue {
	int64_t start_ms, end_ms; /* on the video's timeline */
	char *text;               /* owned; lines split by '\n' */
	int shot;                 /* the shot it belongs to */
};

/* A job's cues in time order; caller-owned, subtitles_release frees the cues. */
struct subs {
	struct subs_cue *cues;
	size_t n, cap;
};

void subtitles_init(struct subs *s);
void subtitles_release(struct subs *s);

/*
 * Adds shot `shot`'s cues: from timings_json (an array of
 * {"start_ms","end_ms","text"} relative to the shot's start, as tts writes
 * shots.timings) when it holds any usable cue, else estimated from narration
 * over duration_ms. Times are clamped into the shot, which starts at
 * offset_ms; text is wrapped to `columns` half-width columns.
 */
void subtitles_add_shot(struct subs *s, int shot, const char *timings_json, const char *narration, int64_t offset_ms,
			int64_t duration_ms, int columns);

/* The cues as an SRT or WebVTT document; the caller frees. */
char *subtitles_srt(const struct subs *s);
char *subtitles_vtt(const struct subs *s);

/* The burned subtitles' font size in pixels, and how many half-width
 * columns fit on one of their lines, for a width x height frame. */
int subtitles_font_px(int width, int height);
int subtitles_columns(int width, int height);
/* The ASS script (libass) of shot `shot`'s cues, times relative to its start
 * at shot_start_ms, styled for the frame; NULL when it has none. The caller frees. */
char *subtitles_ass(const struct subs *s, int shot, int64_t shot_start_ms, int width, int height);

/* text broken into lines of at most `columns` half-width columns (a CJK
 * character counts two): at spaces in Latin text, between characters in
 * CJK. The caller frees. */
char *subtitles_wrap(const char *text, int columns);

#endif
