/*
 * Lays a keyframe's prompt out as drawtext lines. Pure logic, thread-safe.
 */
#ifndef REEL_KEYFRAME_TEXT_H
#define REEL_KEYFRAME_TEXT_H

#include <stdbool.h>

struct keyframe_text_layout {
	int fontsize;     /* pixels */
	int line_spacing; /* pixels between lines */
	char *text;       /* UTF-8 with '\n' between lines; caller frees */
};

/* Fills lo for prompt on a w x h frame; false (lo untouched) when the prompt
 * holds nothing to draw. */
bool keyframe_text_lay_out(const char *prompt, int w, int h, struct keyframe_text_layout *lo);

#endif
