/*
 * The offline TTS provider: libespeak-ng speaks the narration, libswresample
 * brings it to 48 kHz, and the result is written as a 16-bit mono WAV whose
 * length is measured from the samples written, not estimated.
 *
 * DESIGN: libespeak-ng keeps its voice, buffers and callback in globals, so it
 * is initialised once (pthread_once) and every voice change plus synthesis
 * holds one mutex. The callback appends samples to the buffer named by the
 * call's user_data. Trimming, resampling and writing run outside the lock.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <espeak-ng/espeak_ng.h>

#include "log.h"
#include "pcm.h"
#include "tts.h"
#include "banned.h"

#define MAX_AUDIO_S 900 /* refuse narration that speaks longer than this */
#define MAX_NAME 48

/* Languages whose espeak-ng voice is not named like the language; a second
 * voice is tried when the first is missing from the installed data. */
static const struct {
	const char *lang, *voice, *fallback;
} voice_map[] = {
	{ "en", "en-us", "en" },
	{ "zh", "cmn", NULL },
	{ "cmn", "cmn", NULL },
	{ "ja", "ja", "cmn" }, /* cmn at least reads the kanji */
	{ "yue", "yue", "cmn" },
};

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static int engine_rate;      /* espeak-ng's output rate; 0 if it failed to start */
static char engine_err[400]; /* why it failed to start */

static int on_samples(short *wav, int n, espeak_EVENT *events)
{
	struct pcm *pcm = events ? events->user_data : NULL;

	if (!pcm || !wav || n <= 0)
		return 0;
	return pcm_append(pcm, wav, (size_t)n) ? 0 : 1; /* 1 stops the synthesis */
}

static void init_engine(void)
{
	espeak_ng_ERROR_CONTEXT ctx = NULL;
	espeak_ng_STATUS st;
	const char *path = NULL, *version;
	char msg[160];

	/* NULL: $ESPEAK_DATA_PATH, then ~/espeak-ng-data, then the packaged data. */
	espeak_ng_InitializePath(NULL);
	st = espeak_ng_Initialize(&ctx);
	if (st == ENS_OK)
		st = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, NULL);
	espeak_ng_ClearErrorContext(&ctx);
	version = espeak_Info(&path);
	if (st != ENS_OK) {
		espeak_ng_GetStatusCodeMessage(st, msg, sizeof(msg));
		snprintf(engine_err, sizeof(engine_err), "espeak-ng failed to start (data %.200s): %s",
			 path && *path ? path : "not found", msg);
		return;
	}
	espeak_SetSynthCallback(on_samples);
	engine_rate = espeak_ng_GetSampleRate();
	log_info("espeak-ng %s ready: data %s, %d Hz", version, path, engine_rate);
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	/* No '/' or '.': espeak-ng would read a voice file from that path. */
	return n > 0 && n <= MAX_NAME &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-") == n;
}

/* A voice "+f3" is a variant of the language's voice: "en-us+f3". */
static void with_variant(const char *names[2], char bufs[2][2 * MAX_NAME + 2], const char *variant)
{
	for (int i = 0; i < 2; i++) {
		if (!names[i])
			continue;
		snprintf(bufs[i], sizeof(bufs[i]), "%s%s", names[i], variant);
		names[i] = bufs[i];
	}
}

/* Fills names[0..1] with the voices to try; the language is matched on its
 * primary subtag ("zh-TW" is "zh"), and an unmapped one is tried as a voice. */
static int pick_voices(const struct tts_request *rq, const char *names[2], char bufs[2][2 * MAX_NAME + 2], char *err,
		       size_t errlen)
{
	const char *lang, *variant = NULL;
	size_t i, len;

	names[0] = names[1] = NULL;
	if (rq->voice && *rq->voice) {
		if (!valid_name(rq->voice))
			return errorf(err, errlen, "invalid espeak-ng voice name \"%.*s\"", MAX_NAME, rq->voice);
		if (rq->voice[0] != '+') {
			names[0] = rq->voice;
			return 0;
		}
		variant = rq->voice;
	}
	lang = rq->language && *rq->language ? rq->language : tts_detect_language(rq->text);
	if (!valid_name(lang))
		return errorf(err, errlen, "invalid language \"%.*s\"", MAX_NAME, lang);
	len = strcspn(lang, "-_");
	names[0] = lang;
	for (i = 0; i < ARRAY_SIZE(voice_map); i++) {
		if (strlen(voice_map[i].lang) == len && !strncasecmp(lang, voice_map[i].lang, len)) {
			names[0] = voice_map[i].voice;
			names[1] = voice_map[i].fallback;
			break;
		}
	}
	if (variant)
		with_variant(names, bufs, variant);
	return 0;
}

static bool is_blank(const char *s)
{
	while (*s) {
		if (strchr(" \t\r\n\v\f", *s))
			s++;
		else if (!strncmp(s, "\xc2\xa0", 2)) /* no-break space */
			s += 2;
		else if (!strncmp(s, "\xe3\x80\x80", 3)) /* ideographic space */
			s += 3;
		else
			return false;
	}
	return true;
}

static int status_error(espeak_ng_STATUS st, char *err, size_t errlen, const char *what)
{
	char msg[160];

	espeak_ng_GetStatusCodeMessage(st, msg, sizeof(msg));
	return errorf(err, errlen, "espeak-ng %s: %s", what, msg);
}

/* Speaks text into pcm at engine_rate; the only part that holds the lock. */
static int speak(const char *text, const char *const names[2], struct pcm *pcm, char *err, size_t errlen)
{
	espeak_ng_STATUS st;
	const char *used = names[0];

	pthread_mutex_lock(&engine_lock);
	st = espeak_ng_SetVoiceByName(used);
	if (st != ENS_OK && names[1]) {
		log_warn("espeak-ng voice %s missing, using %s", names[0], names[1]);
		used = names[1];
		st = espeak_ng_SetVoiceByName(used);
	}
	if (st == ENS_OK)
		st = espeak_ng_Synthesize(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, pcm);
	pthread_mutex_unlock(&engine_lock);

	if (pcm->overflow)
		return errorf(err, errlen, "narration is too long (more than %d s of speech)", MAX_AUDIO_S);
	if (st == ENS_VOICE_NOT_FOUND)
		return errorf(err, errlen, "espeak-ng has no voice \"%s\"", used);
	if (st != ENS_OK)
		return status_error(st, err, errlen, "synthesis failed");
	return 0;
}

static int espeak_synthesize(const struct tts_request *rq, const char *out_path, struct tts_result *res, char *err,
			     size_t errlen)
{
	struct pcm pcm = { 0 };
	const char *names[2];
	char bufs[2][2 * MAX_NAME + 2];
	int64_t shift;
	int rc = -1;

	if (!rq->text || is_blank(rq->text))
		return errorf(err, errlen, "narration is empty");
	if (pick_voices(rq, names, bufs, err, errlen))
		return -1;
	pthread_once(&engine_once, init_engine);
	if (!engine_rate)
		return errorf(err, errlen, "%s", engine_err);

	pcm.limit = (size_t)engine_rate * MAX_AUDIO_S;
	if (speak(rq->text, names, &pcm, err, errlen))
		goto out;
	if (pcm_trim(&pcm, engine_rate, PCM_PAD_MS, true, &shift)) {
		errorf(err, errlen, "narration has nothing espeak-ng can speak");
		goto out;
	}
	if (pcm_resample(&pcm, engine_rate, err, errlen) || pcm_write_wav(out_path, &pcm, err, errlen))
		goto out;
	res->sample_rate = PCM_RATE;
	res->duration_ms = pcm_ms(pcm.n);
	rc = 0;
out:
	pcm_release(&pcm);
	return rc;
}

const struct tts_engine tts_engine_espeak = {
	.name = "espeak",
	.synthesize = espeak_synthesize,
};
