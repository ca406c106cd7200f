/*
 * The keyframe's caption: the prompt as UTF-8 → codepoints (invalid bytes and
 * controls dropped) → lines wrapped where CJK and Latin text allow a break,
 * at the largest font size that fits the middle of the frame.
 */
#include "keyframe_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h"

#define MAX_PROMPT_CPS 4096 /* codepoints considered; more would never fit */
#define ELLIPSIS 0x2026u

/* Decodes one strict UTF-8 sequence; returns the codepoint or -1 (and *len 1). */
static long utf8_next(const unsigned char *s, size_t *len)
{
	static const long min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n = s[0] < 0x80             ? 1
		   : (s[0] & 0xe0) == 0xc0 ? 2
		   : (s[0] & 0xf0) == 0xe0 ? 3
		   : (s[0] & 0xf8) == 0xf0 ? 4
					   : 0;
	long cp = n == 1 ? s[0] : n == 2 ? s[0] & 0x1f : n == 3 ? s[0] & 0x0f : s[0] & 0x07;

	*len = 1;
	if (!n)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = n;
	return cp;
}

static size_t utf8_put(uint32_t cp, char *out)
{
	static const unsigned char lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	for (size_t i = n - 1; i > 0; i--, cp >>= 6)
		out[i] = (char)(0x80 | (cp & 0x3f));
	out[0] = (char)(lead[n] | cp);
	return n;
}

static int is_space(long cp)
{
	return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85 || cp == 0xa0 || cp == 0x3000 ||
	       (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029;
}

/* Controls and invisible format characters would draw as boxes or nothing. */
static int is_dropped(long cp)
{
	return cp < 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0x200b && cp <= 0x200f) || cp == 0xfeff;
}

/* Turns the prompt into codepoints with whitespace collapsed and trimmed;
 * returns how many were stored (at most cap). */
static size_t sanitize(const char *prompt, uint32_t *cps, size_t cap)
{
	const unsigned char *p = (const unsigned char *)prompt;
	size_t n = 0;
	int pending_space = 0;

	while (*p && n < cap) {
		size_t len;
		long cp = utf8_next(p, &len);
		p += len;
		if (is_space(cp)) {
			pending_space = n > 0;
			continue;
		}
		if (is_dropped(cp))
			continue;
		if (pending_space && n < cap - 1)
			cps[n++] = ' ';
		pending_space = 0;
		cps[n++] = (uint32_t)cp;
	}
	return n;
}

static int is_wide(uint32_t c)
{
	return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) ||
	       (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	       (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff) || (c >= 0x20000 && c <= 0x3fffd);
}

/* Rough advance widths of the Noto Sans CJK faces, in hundredths of an em. */
static int char_width(uint32_t c)
{
	if (c == ' ')
		return 26;
	if (is_wide(c))
		return 100;
	if (c >= 0x300 && c <= 0x36f)
		return 0;
	if (c < 0x80 && strchr("iIjlft1.,:;'!|`()[]{}\"", (int)c))
		return 34;
	if (c == 'm' || c == 'w' || c == 'M' || c == 'W' || c == '@')
		return 88;
	if (c >= 'A' && c <= 'Z')
		return 68;
	return c < 0x80 ? 58 : 64;
}

/* Kinsoku: these never start a line, the openers never end one. */
static int no_break_before(uint32_t c)
{
	static const uint32_t closers[] = {
		0x3001, 0x3002, 0xff0c, 0xff0e, 0xff01, 0xff1f, 0xff1a, 0xff1b, 0xff09, 0x300d, 0x300f, 0x300b, 0x3009,
		0x3011, 0x2026, 0x30fc, 0x201d, 0x2019, ',',    '.',    '!',    '?',    ':',    ';',    ')',
	};
	for (size_t i = 0; i < ARRAY_SIZE(closers); i++)
		if (c == closers[i])
			return 1;
	return 0;
}

static int no_break_after(uint32_t c)
{
	return c == 0xff08 || c == 0x300c || c == 0x300e || c == 0x300a || c == 0x3008 || c == 0x3010 || c == 0x201c ||
	       c == 0x2018 || c == '(';
}

static int can_break_between(uint32_t a, uint32_t b)
{
	if (no_break_before(b) || no_break_after(a))
		return 0;
	return is_wide(a) || is_wide(b);
}

struct span {
	size_t start, end; /* codepoint indexes, end exclusive */
};

/* Greedy wrap to max_w (hundredths of an em); stores up to cap lines and
 * returns how many lines the whole text needs. */
static size_t wrap(const uint32_t *cps, size_t n, int max_w, struct span *lines, size_t cap)
{
	size_t count = 0, start = 0, brk = 0, next = 0;
	int w = 0;

	for (size_t i = 0; i < n; i++) {
		int cw = char_width(cps[i]);
		if (i > start && (cps[i] == ' ' || (cps[i - 1] != ' ' && can_break_between(cps[i - 1], cps[i])))) {
			brk = i;
			next = cps[i] == ' ' ? i + 1 : i; /* a space is dropped */
		}
		if (cps[i] != ' ' && i > start && w + cw > max_w) {
			size_t end = brk > start ? brk : i;
			if (count < cap)
				lines[count] = (struct span){ start, end };
			count++;
			start = brk > start ? next : i;
			brk = start;
			w = 0;
			for (size_t j = start; j < i; j++)
				w += char_width(cps[j]);
		}
		w += cw;
	}
	if (n > start) {
		if (count < cap)
			lines[count] = (struct span){ start, n };
		count++;
	}
	return count;
}

static int span_width(const uint32_t *cps, struct span s)
{
	int w = 0;
	for (size_t i = s.start; i < s.end; i++)
		w += char_width(cps[i]);
	return w;
}

/* Joins the lines, ending the last with an ellipsis when text was cut off. */
static char *join_lines(const uint32_t *cps, struct span *lines, size_t nl, int cut, int max_w)
{
	if (cut) {
		struct span *last = &lines[nl - 1];
		while (last->end > last->start &&
		       (span_width(cps, *last) + char_width(ELLIPSIS) > max_w || cps[last->end - 1] == ' '))
			last->end--;
	}
	size_t cap = 8, len = 0;
	for (size_t i = 0; i < nl; i++)
		cap += (lines[i].end - lines[i].start) * 4 + 1;
	char *out = xmalloc(cap);
	for (size_t i = 0; i < nl; i++) {
		for (size_t j = lines[i].start; j < lines[i].end; j++)
			len += utf8_put(cps[j], out + len);
		if (i + 1 < nl)
			out[len++] = '\n';
	}
	if (cut)
		len += utf8_put(ELLIPSIS, out + len);
	out[len] = '\0';
	return out;
}

/* Narrows the wrap width as far as the line count allows, so a short prompt
 * becomes two even lines rather than a full line and a stub. */
static int balanced_width(const uint32_t *cps, size_t n, int max_w, size_t nlines)
{
	int lo = max_w / 2, hi = max_w;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (wrap(cps, n, mid, NULL, 0) <= nlines)
			hi = mid;
		else
			lo = mid + 1;
	}
	return hi;
}

/* Picks the largest font size (from a twelfth of the short side down) at
 * which the prompt fits the middle of the frame; at the smallest size what
 * does not fit is cut off. */
static void make_layout(const uint32_t *cps, size_t n, int w, int h, struct keyframe_text_layout *lo)
{
	int side = w < h ? w : h;
	int fs = side / 12 > 8 ? side / 12 : 8;
	int fs_min = side / 48 > 8 ? side / 48 : 8;
	int usable_w = w * 84 / 100, usable_h = h * 70 / 100;

	for (;;) {
		int max_w = usable_w * 100 / fs;
		int line_h = fs * 29 / 20; /* glyph box (≈1.2 em) + spacing */
		size_t max_lines = (size_t)(usable_h / line_h > 1 ? usable_h / line_h : 1);
		size_t need = wrap(cps, n, max_w, NULL, 0);

		if (need <= max_lines || fs == fs_min) {
			size_t nl = need < max_lines ? need : max_lines;
			struct span *lines = xcalloc(nl, sizeof(*lines));
			if (need <= max_lines)
				max_w = balanced_width(cps, n, max_w, need);
			wrap(cps, n, max_w, lines, nl);
			lo->fontsize = fs;
			lo->line_spacing = fs / 4;
			lo->text = join_lines(cps, lines, nl, need > max_lines, max_w);
			free(lines);
			return;
		}
		fs = fs * 9 / 10 > fs_min ? fs * 9 / 10 : fs_min;
	}
}

bool keyframe_text_lay_out(const char *prompt, int w, int h, struct keyframe_text_layout *lo)
{
	uint32_t *cps = xcalloc(MAX_PROMPT_CPS, sizeof(*cps));
	size_t n = sanitize(prompt, cps, MAX_PROMPT_CPS);

	if (n > 0)
		make_layout(cps, n, w, h, lo);
	free(cps);
	return n > 0;
}
