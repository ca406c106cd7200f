/*
 * Subtitle cues: from shots.timings or estimated from the narration, wrapped
 * by display width, and written as SRT, WebVTT or a libass script.
 */
#include "subtitles.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "banned.h"

#define FONT "Noto Sans CJK SC" /* draws Latin and CJK alike (fonts-noto-cjk) */

/* A growing string. */
struct text {
	char *s;
	size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->s = xrealloc(t->s, t->cap);
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

static char *finish(struct text *t)
{
	return t->s ? t->s : xstrdup("");
}

/* Decodes one UTF-8 character at s into *cp; its length in bytes (1 for bad bytes). */
static int next_cp(const char *s, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	int n = u[0] < 0x80 ? 1 : (u[0] >> 5) == 6 ? 2 : (u[0] >> 4) == 14 ? 3 : (u[0] >> 3) == 30 ? 4 : 0;

	if (n == 0) {
		*cp = 0xFFFD;
		return 1;
	}
	*cp = n == 1 ? u[0] : u[0] & (0x7F >> n);
	for (int i = 1; i < n; i++) {
		if ((u[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return 1;
		}
		*cp = *cp << 6 | (u[i] & 0x3F);
	}
	return n;
}

/* Han, kana, Hangul and full-width forms: two columns wide, breakable anywhere. */
static bool wide(uint32_t c)
{
	return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) || (c >= 0xAC00 && c <= 0xD7A3) ||
	       (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
	       (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x20000 && c <= 0x3FFFD);
}

/* Punctuation that must not begin a line. */
static bool closing(uint32_t c)
{
	static const uint32_t set[] = { 0x3001, 0x3002, 0xFF0C, 0xFF01, 0xFF1F, 0xFF1B, 0xFF1A, 0x300D, 0x300F,
					0xFF09, 0x2026, ',',    '.',    '!',    '?',    ';',    ':',    ')' };

	for (size_t i = 0; i < ARRAY_SIZE(set); i++)
		if (c == set[i])
			return true;
	return false;
}

/* Where the current line may be broken: at a space (replaced) or before a wide character (inserted). */
struct wrap_state {
	int cols;
	bool has_brk, brk_space;
	size_t brk;
	int brk_cols; /* columns before the break point */
};

static void break_line(struct text *t, struct wrap_state *w)
{
	if (w->brk_space) {
		t->s[w->brk] = '\n';
		w->cols -= w->brk_cols + 1;
	} else {
		put(t, "", 1); /* room for one more byte */
		t->len--;
		memmove(t->s + w->brk + 1, t->s + w->brk, t->len - w->brk + 1);
		t->s[w->brk] = '\n';
		t->len++;
		w->cols -= w->brk_cols;
	}
	w->has_brk = false;
}

char *subtitles_wrap(const char *text, int columns)
{
	struct text t = { 0 };
	struct wrap_state w = { 0 };
	uint32_t c;

	for (const char *p = text; *p;) {
		int n = next_cp(p, &c), cw = wide(c) ? 2 : 1;

		if (c == '\n' || c == '\r' || c == ' ' || c == '\t') {
			p += n;
			if (w.cols == 0 || t.s[t.len - 1] == ' ')
				continue; /* no leading or doubled spaces */
			w = (struct wrap_state){ w.cols + 1, true, true, t.len, w.cols };
			put(&t, " ", 1);
			continue;
		}
		if (w.cols + cw > columns && w.cols > 0 && !closing(c)) {
			if (cw == 2) {
				w.brk_space = false;
				w.brk = t.len;
				w.brk_cols = w.cols;
				w.has_brk = true;
			}
			if (w.has_brk)
				break_line(&t, &w);
		}
		if (cw == 2 && w.cols > 0) {
			w.has_brk = true;
			w.brk_space = false;
			w.brk = t.len;
			w.brk_cols = w.cols;
		}
		put(&t, p, (size_t)n);
		w.cols += cw;
		p += n;
	}
	while (t.len > 0 && (t.s[t.len - 1] == ' ' || t.s[t.len - 1] == '\n'))
		t.s[--t.len] = '\0';
	return finish(&t);
}

void subtitles_init(struct subs *s)
{
	memset(s, 0, sizeof(*s));
}

void subtitles_release(struct subs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->cues[i].text);
	free(s->cues);
	subtitles_init(s);
}

static void add(struct subs *s, int shot, int64_t start, int64_t end, char *text)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->cues = xrealloc(s->cues, s->cap * sizeof(*s->cues));
	}
	s->cues[s->n++] = (struct subs_cue){ start, end, text, shot };
}

/* How long a piece of text takes to say, in arbitrary units. */
static double weight(const char *text)
{
	double w = 0;
	uint32_t c;

	for (const char *p = text; *p;) {
		p += next_cp(p, &c);
		w += wide(c) ? 3 : c == ' ' || c == '\n' ? 0 : 1;
	}
	return w > 0 ? w : 1;
}

/* Sentence ends: ASCII ones only before a space or the end ("3.5" is no end). */
static bool sentence_end(uint32_t c, const char *next)
{
	if (c == 0x3002 || c == 0xFF01 || c == 0xFF1F || c == 0xFF1B || c == 0x2026)
		return true;
	return (c == '.' || c == '!' || c == '?' || c == ';') && (*next == ' ' || *next == '\n' || *next == '\0');
}

/* The narration's sentences, each wrapped and cut into cues of two lines. */
static size_t split_cues(const char *narration, int columns, char ***out)
{
	size_t n = 0, cap = 0;
	char **cues = NULL;
	uint32_t c;

	for (const char *p = narration, *start = narration; *start;) {
		int len = *p ? next_cp(p, &c) : 0;

		p += len;
		if (*p && !(len && sentence_end(c, p)))
			continue;
		char *sentence = xstrndup(start, (size_t)(p - start)), *wrapped = subtitles_wrap(sentence, columns);
		char *line = wrapped;

		for (int k = 0; *line; k++) {
			char *nl = strchr(line, '\n'), *second = nl ? strchr(nl + 1, '\n') : NULL;
			size_t take = second ? (size_t)(second - line) : strlen(line);

			if (n == cap) {
				cap = cap ? 2 * cap : 8;
				cues = xrealloc(cues, cap * sizeof(*cues));
			}
			cues[n++] = xstrndup(line, take);
			line += take + (second ? 1 : 0);
		}
		free(sentence);
		free(wrapped);
		start = p;
	}
	*out = cues;
	return n;
}

static void estimate(struct subs *s, int shot, const char *narration, int64_t offset, int64_t duration, int columns)
{
	char **cues;
	size_t n = split_cues(narration ? narration : "", columns, &cues);
	double total = 0, done = 0;

	for (size_t i = 0; i < n; i++)
		total += weight(cues[i]);
	for (size_t i = 0; i < n; i++) {
		int64_t a = offset + (int64_t)(duration * done / total);

		done += weight(cues[i]);
		add(s, shot, a, i + 1 == n ? offset + duration : offset + (int64_t)(duration * done / total), cues[i]);
	}
	free(cues);
}

/* Cues from shots.timings; false when it holds none we can use. */
static bool from_timings(struct subs *s, int shot, const char *json, int64_t offset, int64_t duration, int columns)
{
	cJSON *arr = json ? json_parse(json, strlen(json)) : NULL, *item;
	size_t before = s->n;

	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		return false;
	}
	cJSON_ArrayForEach (item, arr) {
		const char *text = json_str(item, "text");
		long a, b;

		if (!text || !*text || json_int(item, "start_ms", &a) < 0 || json_int(item, "end_ms", &b) < 0)
			continue;
		a = a < 0 ? 0 : a;
		b = b > duration ? (long)duration : b;
		if (b > a)
			add(s, shot, offset + a, offset + b, subtitles_wrap(text, columns));
	}
	cJSON_Delete(arr);
	return s->n > before;
}

void subtitles_add_shot(struct subs *s, int shot, const char *timings_json, const char *narration, int64_t offset_ms,
			int64_t duration_ms, int columns)
{
	if (!from_timings(s, shot, timings_json, offset_ms, duration_ms, columns))
		estimate(s, shot, narration, offset_ms, duration_ms, columns);
}

/* HH:MM:SS plus sep and milliseconds. */
static void put_time(struct text *t, int64_t ms, char sep)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%02lld:%02d:%02d%c%03d", (long long)(ms / 3600000), (int)(ms / 60000 % 60),
			 (int)(ms / 1000 % 60), sep, (int)(ms % 1000));

	put(t, b, (size_t)n);
}

char *subtitles_srt(const struct subs *s)
{
	struct text t = { 0 };
	char num[24];

	for (size_t i = 0; i < s->n; i++) {
		snprintf(num, sizeof(num), "%zu\n", i + 1);
		puts_(&t, num);
		put_time(&t, s->cues[i].start_ms, ',');
		puts_(&t, " --> ");
		put_time(&t, s->cues[i].end_ms, ',');
		puts_(&t, "\n");
		puts_(&t, s->cues[i].text);
		puts_(&t, "\n\n");
	}
	return finish(&t);
}

char *subtitles_vtt(const struct subs *s)
{
	struct text t = { 0 };

	puts_(&t, "WEBVTT\n\n");
	for (size_t i = 0; i < s->n; i++) {
		put_time(&t, s->cues[i].start_ms, '.');
		puts_(&t, " --> ");
		put_time(&t, s->cues[i].end_ms, '.');
		puts_(&t, "\n");
		/* Cue text is HTML-like in WebVTT: escape what would start markup. */
		for (const char *p = s->cues[i].text; *p; p++) {
			if (*p == '<')
				puts_(&t, "&lt;");
			else if (*p == '>')
				puts_(&t, "&gt;");
			else if (*p == '&')
				puts_(&t, "&amp;");
			else
				put(&t, p, 1);
		}
		puts_(&t, "\n\n");
	}
	return finish(&t);
}

int subtitles_font_px(int width, int height)
{
	return (width < height ? width : height) * 6 / 100;
}

int subtitles_columns(int width, int height)
{
	/* A CJK glyph is about one font size wide, a Latin one a little over half. */
	return (width - 2 * (width * 8 / 100)) * 20 / (11 * subtitles_font_px(width, height));
}

/* ASS time: H:MM:SS.cc */
static void put_ass_time(struct text *t, int64_t ms)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%d:%02d:%02d.%02d", (int)(ms / 3600000), (int)(ms / 60000 % 60),
			 (int)(ms / 1000 % 60), (int)(ms % 1000 / 10));

	put(t, b, (size_t)n);
}

/* Line breaks as \N; braces and backslashes, which ASS reads as markup, made plain. */
static void put_ass_text(struct text *t, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			puts_(t, "\\N");
		else if (*s == '{')
			puts_(t, "(");
		else if (*s == '}')
			puts_(t, ")");
		else if (*s == '\\')
			puts_(t, "/");
		else
			put(t, s, 1);
	}
}

char *subtitles_ass(const struct subs *s, int shot, int64_t shot_start_ms, int width, int height)
{
	struct text t = { 0 };
	int fs = subtitles_font_px(width, height), margin = width * 8 / 100;
	char head[1024];
	bool any = false;

	snprintf(head, sizeof(head),
		 "[Script Info]\nScriptType: v4.00+\nPlayResX: %d\nPlayResY: %d\nWrapStyle: 0\n"
		 "ScaledBorderAndShadow: yes\n\n[V4+ Styles]\n"
		 "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
		 "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
		 "Alignment, MarginL, MarginR, MarginV, Encoding\n"
		 "Style: Default," FONT ",%d,&H00FFFFFF,&H000000FF,&H00101010,&H80000000,1,0,0,0,100,100,0,0,1,%d,%d,"
		 "2,%d,%d,%d,1\n\n[Events]\n"
		 "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n",
		 width, height, fs, fs / 14 + 1, fs / 30, margin, margin, height * 12 / 100);
	puts_(&t, head);
	for (size_t i = 0; i < s->n; i++) {
		if (s->cues[i].shot != shot)
			continue;
		any = true;
		puts_(&t, "Dialogue: 0,");
		put_ass_time(&t, s->cues[i].start_ms - shot_start_ms);
		puts_(&t, ",");
		put_ass_time(&t, s->cues[i].end_ms - shot_start_ms);
		puts_(&t, ",Default,,0,0,0,,");
		put_ass_text(&t, s->cues[i].text);
		puts_(&t, "\n");
	}
	if (!any) {
		free(t.s);
		return NULL;
	}
	return finish(&t);
}
