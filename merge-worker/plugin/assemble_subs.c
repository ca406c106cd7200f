/*
 * Burned subtitles: a shot's cues as an ASS script for libass, styled for
 * the output frame (a Noto CJK face that draws Latin and CJK alike, white
 * with a dark outline, above the bottom where platforms put their buttons).
 * Cue text arrives wrapped by the caller (assemble_sub_columns).
 */
#include "assemble.h"

#include <stdio.h>
#include <string.h>

#include "banned.h"

#define FONT "Noto Sans CJK SC"

static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static void append_time(char **buf, size_t *len, size_t *cap, int64_t ms)
{
	char t[32];
	int n = snprintf(t, sizeof(t), "%d:%02d:%02d.%02d", (int)(ms / 3600000), (int)(ms / 60000 % 60),
			 (int)(ms / 1000 % 60), (int)(ms % 1000 / 10));

	append(buf, len, cap, t, (size_t)n);
}

/* Cue text with line breaks as \N and the characters ASS would read as
 * override blocks or escapes made harmless. */
static void append_text(char **buf, size_t *len, size_t *cap, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			append(buf, len, cap, "\\N", 2);
		else if (*s == '{')
			append(buf, len, cap, "(", 1);
		else if (*s == '}')
			append(buf, len, cap, ")", 1);
		else if (*s == '\\')
			append(buf, len, cap, "/", 1);
		else if (*s != '\r')
			append(buf, len, cap, s, 1);
	}
}

char *assemble__ass_text(const struct assemble_spec *sp, const struct assemble_shot *s)
{
	int fs = assemble_sub_font_px(sp->width, sp->height);
	size_t len = 0, cap = 1024;
	char *buf = xmalloc(cap), head[1024];
	int n = snprintf(head, sizeof(head),
			 "[Script Info]\nScriptType: v4.00+\nPlayResX: %d\nPlayResY: %d\nWrapStyle: 0\n"
			 "ScaledBorderAndShadow: yes\n\n[V4+ Styles]\n"
			 "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
			 "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
			 "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
			 "Style: Default," FONT ",%d,&H00FFFFFF,&H000000FF,&H00101010,&H80000000,1,0,0,0,100,100,0,0,"
			 "1,%d,%d,2,%d,%d,%d,1\n\n[Events]\n"
			 "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n",
			 sp->width, sp->height, fs, fs / 14 + 1, fs / 30, sp->width * 8 / 100, sp->width * 8 / 100,
			 sp->height * 12 / 100);

	buf[0] = '\0';
	append(&buf, &len, &cap, head, (size_t)n);
	for (size_t i = 0; i < s->n_cues; i++) {
		const struct assemble_cue *c = &s->cues[i];

		append(&buf, &len, &cap, "Dialogue: 0,", 12);
		append_time(&buf, &len, &cap, c->start_ms);
		append(&buf, &len, &cap, ",", 1);
		append_time(&buf, &len, &cap, c->end_ms);
		append(&buf, &len, &cap, ",Default,,0,0,0,,", 17);
		append_text(&buf, &len, &cap, c->text ? c->text : "");
		append(&buf, &len, &cap, "\n", 1);
	}
	return buf;
}
