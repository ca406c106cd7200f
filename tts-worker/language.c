/*
 * Guesses a narration's language from its script, so that a shot without an
 * explicit language still gets a voice that can read it: Chinese, Japanese
 * or, for everything else, English.
 */
#include <stdbool.h>
#include <stdint.h>

#include "tts.h"
#include "banned.h"

enum script { SCRIPT_NONE, SCRIPT_ALPHA, SCRIPT_HAN, SCRIPT_KANA };

struct tally {
	unsigned words; /* runs of alphabetic letters */
	unsigned han;
	unsigned kana;
};

#define INVALID_CP UINT32_MAX

static bool in(uint32_t cp, uint32_t lo, uint32_t hi)
{
	return cp >= lo && cp <= hi;
}

static unsigned seq_len(unsigned char b, uint32_t *cp, uint32_t *min)
{
	if (b >= 0xc2 && b <= 0xdf) {
		*cp = b & 0x1f, *min = 0x80;
		return 2;
	}
	if (b >= 0xe0 && b <= 0xef) {
		*cp = b & 0x0f, *min = 0x800;
		return 3;
	}
	if (b >= 0xf0 && b <= 0xf4) {
		*cp = b & 0x07, *min = 0x10000;
		return 4;
	}
	return 0;
}

/* Decodes one code point at *s and advances past it; an invalid sequence
 * yields INVALID_CP and consumes a single byte, so decoding resynchronises. */
static uint32_t next_cp(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t cp, min;
	unsigned n, i;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	*s = p + 1;
	n = seq_len(p[0], &cp, &min);
	if (!n)
		return INVALID_CP;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return INVALID_CP;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || in(cp, 0xd800, 0xdfff))
		return INVALID_CP;
	*s = p + n;
	return cp;
}

static bool is_han(uint32_t cp)
{
	return in(cp, 0x4e00, 0x9fff) || in(cp, 0x3400, 0x4dbf) || in(cp, 0xf900, 0xfaff) || in(cp, 0x20000, 0x323af) ||
	       cp == 0x3005 || cp == 0x3007;
}

static bool is_kana(uint32_t cp)
{
	/* U+30FB (katakana middle dot) also separates names in Chinese text. */
	if (cp == 0x30fb)
		return false;
	return in(cp, 0x3041, 0x309f) || in(cp, 0x30a0, 0x30ff) || in(cp, 0x31f0, 0x31ff) || in(cp, 0xff66, 0xff9f) ||
	       in(cp, 0x1b000, 0x1b16f);
}

/* Letters of alphabets and syllabaries other than CJK; punctuation, symbols,
 * digits and emoji are not. The ranges are coarse on purpose: the only
 * question is whether a character is CJK or part of some other word. */
static bool is_alpha(uint32_t cp)
{
	if (cp < 0x80)
		return in(cp | 0x20, 'a', 'z');
	if (cp < 0xc0 || cp == 0xd7 || cp == 0xf7)
		return false;
	if (cp < 0x2000)
		return true;
	return in(cp, 0xac00, 0xd7af) || in(cp, 0x1100, 0x11ff) || in(cp, 0xa640, 0xa6ff);
}

static enum script classify(uint32_t cp)
{
	if (cp == INVALID_CP)
		return SCRIPT_NONE;
	if (is_han(cp))
		return SCRIPT_HAN;
	if (is_kana(cp))
		return SCRIPT_KANA;
	return is_alpha(cp) ? SCRIPT_ALPHA : SCRIPT_NONE;
}

static void count(const char *text, struct tally *t)
{
	const unsigned char *s = (const unsigned char *)text;
	enum script prev = SCRIPT_NONE;

	while (*s) {
		enum script cur = classify(next_cp(&s));

		if (cur == SCRIPT_ALPHA && prev != SCRIPT_ALPHA)
			t->words++;
		else if (cur == SCRIPT_HAN)
			t->han++;
		else if (cur == SCRIPT_KANA)
			t->kana++;
		prev = cur;
	}
}

/* An ideograph carries about as much as an alphabetic word, so CJK characters
 * are weighed against words rather than letters: a Chinese sentence naming
 * "PostgreSQL" stays Chinese. */
const char *language_detect(const char *text)
{
	struct tally t = { 0 };

	if (!text)
		return "en";
	count(text, &t);
	if (t.han + t.kana <= t.words)
		return "en";
	return t.kana ? "ja" : "zh";
}
