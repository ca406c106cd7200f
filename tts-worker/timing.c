/*
 * Timings: estimated sentence spans and vendor word spans, in the JSON that
 * merge-worker turns into subtitles.
 */
#include "timing.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "narration.h"
#include "banned.h"

#define PAUSE_SYLLABLES 1 /* a sentence end is held about as long as one syllable */

void timing_add(struct timing_list *l, int64_t start_ms, int64_t end_ms, const char *text, size_t len)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = (struct tts_timing){ start_ms, end_ms < start_ms ? start_ms : end_ms, xstrndup(text, len) };
}

void timing_estimate(struct timing_list *l, const char *text, int64_t start_ms, int64_t duration_ms)
{
	char **sentences;
	size_t n = narration_sentences(text, &sentences), total = 0, done = 0;
	size_t *weight = xcalloc(n ? n : 1, sizeof(*weight));
	for (size_t i = 0; i < n; i++) {
		weight[i] = narration_syllables(sentences[i]) + (i + 1 < n ? PAUSE_SYLLABLES : 0);
		total += weight[i];
	}
	for (size_t i = 0; i < n && total; i++) {
		int64_t from = start_ms + (int64_t)((double)duration_ms * (double)done / (double)total);
		done += weight[i];
		/* The pause after a sentence is not part of its subtitle. */
		size_t spoken = done - (i + 1 < n ? PAUSE_SYLLABLES : 0);
		int64_t to = start_ms + (int64_t)((double)duration_ms * (double)spoken / (double)total);
		timing_add(l, from, to, sentences[i], strlen(sentences[i]));
	}
	free(weight);
	narration_free(sentences, n);
}

void timing_shift(struct timing_list *l, const struct tts_timing *words, size_t n, int64_t shift_ms, int64_t limit_ms)
{
	for (size_t i = 0; i < n; i++) {
		int64_t a = words[i].start_ms + shift_ms, b = words[i].end_ms + shift_ms;
		a = a < 0 ? 0 : a > limit_ms ? limit_ms : a;
		b = b < a ? a : b > limit_ms ? limit_ms : b;
		timing_add(l, a, b, words[i].text, strlen(words[i].text));
	}
}

char *timing_json(const struct timing_list *l)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < l->n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "start_ms", (double)l->v[i].start_ms);
		cJSON_AddNumberToObject(o, "end_ms", (double)l->v[i].end_ms);
		cJSON_AddStringToObject(o, "text", l->v[i].text);
		cJSON_AddItemToArray(a, o);
	}
	char *text = json_print(a);
	cJSON_Delete(a);
	return text;
}

void timing_free(struct tts_timing *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

void timing_release(struct timing_list *l)
{
	timing_free(l->v, l->n);
	l->v = NULL;
	l->n = 0;
}
