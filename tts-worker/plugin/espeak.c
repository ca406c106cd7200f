/*
 * The offline TTS provider: libespeak-ng speaks the narration, libswresample
 * brings it to 48 kHz, and the result is written as a 16-bit mono WAV whose
 * length is measured from the samples written, not estimated.
 *
 * DESIGN: libespeak-ng keeps its voice, buffers and callback in globals, so it
 * is initialised once (pthread_once) and every voice change plus synthesis
 * holds one mutex. The callback appends samples to the buffer named by the
 * call's user_data. Trimming, resampling and writing run outside the lock.
 * espeak-ng quietly ignores a variant it does not have ("en-us+xyz" speaks
 * as en-us), so the installed variants are listed once at start and a voice
 * whose variant is not among them does not exist. What check_voice found is
 * remembered (its own mutex), so a catalogue read again waits for no
 * synthesis.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <espeak-ng/espeak_ng.h>

#include "errbuf.h"
#include "log.h"
#include "pcm.h"
#include "str.h"
#include "tts.h"
#include "banned.h"

#define MAX_AUDIO_S 900 /* refuse narration that speaks longer than this */
#define MAX_NAME 48
#define MAX_VARIANTS 256
#define MAX_CHECKED 512

/* Languages whose espeak-ng voice is not named like the language; a second
 * voice is tried when the first is missing from the installed data. */
static const struct {
	const char *lang, *voice, *fallback;
} voice_map[] = {
	{ "en", "en-us", "en" }, { "zh", "cmn", NULL },
	{ "cmn", "cmn", NULL },  { "ja", "ja", "cmn" }, /* cmn at least reads the kanji */
	{ "yue", "yue", "cmn" },
};

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static int engine_rate;              /* espeak-ng's output rate; 0 if it failed to start */
static char engine_err[400];         /* why it failed to start */
static char *variants[MAX_VARIANTS]; /* the installed variants' file names ("f3"); read-only after start */
static size_t n_variants;
static pthread_mutex_t checked_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char name[MAX_NAME + 1];
	espeak_ng_STATUS status;
} checked[MAX_CHECKED]; /* check_voice's answers; when full, new names are asked again each time */
static size_t n_checked;

static int on_samples(short *wav, int n, espeak_EVENT *events)
{
	struct pcm *pcm = events ? events->user_data : NULL;

	if (!pcm || !wav || n <= 0)
		return 0;
	return pcm_append(pcm, wav, (size_t)n) ? 0 : 1; /* 1 stops the synthesis */
}

/* The variants espeak-ng lists as "!v/NAME" (a file of espeak-ng-data/voices/!v). */
static void list_variants(void)
{
	espeak_VOICE spec = { .languages = "variant" };
	const espeak_VOICE **v = espeak_ListVoices(&spec);

	for (; v && *v && n_variants < MAX_VARIANTS; v++)
		if ((*v)->identifier && !strncmp((*v)->identifier, "!v/", 3))
			variants[n_variants++] = xstrdup((*v)->identifier + 3);
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
	list_variants();
	engine_rate = espeak_ng_GetSampleRate();
	log_info("espeak-ng %s ready: data %s, %d Hz, %zu voice variants", version, path, engine_rate, n_variants);
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
			return errbuf_set(err, errlen, "invalid espeak-ng voice name \"%.*s\"", MAX_NAME, rq->voice);
		if (rq->voice[0] != '+') {
			names[0] = rq->voice;
			return 0;
		}
		variant = rq->voice;
	}
	lang = rq->language && *rq->language ? rq->language : language_detect(rq->text);
	if (!valid_name(lang))
		return errbuf_set(err, errlen, "invalid language \"%.*s\"", MAX_NAME, lang);
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
	return errbuf_set(err, errlen, "espeak-ng %s: %s", what, msg);
}

static bool has_variant(const char *name)
{
	for (size_t i = 0; i < n_variants; i++)
		if (!strcmp(variants[i], name))
			return true;
	return false;
}

/* espeak_ng_SetVoiceByName, refusing a variant that is not installed. Holds
 * the lock. */
static espeak_ng_STATUS set_voice(const char *name)
{
	const char *plus = strchr(name, '+');
	espeak_ng_STATUS st = espeak_ng_SetVoiceByName(name);

	return st == ENS_OK && plus && !has_variant(plus + 1) ? ENS_VOICE_NOT_FOUND : st;
}

/* Speaks text into pcm at engine_rate; the only part that holds the lock. */
static int speak(const char *text, const char *const names[2], struct pcm *pcm, struct tts_result *res, char *err,
		 size_t errlen)
{
	espeak_ng_STATUS st;
	const char *used = names[0];

	pthread_mutex_lock(&engine_lock);
	st = set_voice(used);
	if (st != ENS_OK && names[1]) {
		log_warn("espeak-ng voice %s missing, using %s", names[0], names[1]);
		used = names[1];
		st = set_voice(used);
	}
	if (st == ENS_OK)
		st = espeak_ng_Synthesize(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, pcm);
	pthread_mutex_unlock(&engine_lock);

	if (pcm->overflow)
		return errbuf_set(err, errlen, "narration is too long (more than %d s of speech)", MAX_AUDIO_S);
	if (st == ENS_VOICE_NOT_FOUND) {
		errbuf_set(err, errlen, "espeak-ng has no voice \"%s\"", used);
		return TTS_NO_VOICE;
	}
	if (st != ENS_OK)
		return status_error(st, err, errlen, "synthesis failed");
	str_copy(res->voice, used, sizeof(res->voice)); /* fits: at most 2 * MAX_NAME + 1 */
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
		return errbuf_set(err, errlen, "narration is empty");
	if (pick_voices(rq, names, bufs, err, errlen))
		return TTS_NO_VOICE;
	pthread_once(&engine_once, init_engine);
	if (!engine_rate)
		return errbuf_set(err, errlen, "%s", engine_err);

	pcm.limit = (size_t)engine_rate * MAX_AUDIO_S;
	if ((rc = speak(rq->text, names, &pcm, res, err, errlen)) < 0)
		goto out;
	rc = -1;
	if (pcm_trim(&pcm, engine_rate, PCM_PAD_MS, true, &shift)) {
		errbuf_set(err, errlen, "narration has nothing espeak-ng can speak");
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

/* Whether voice loads, from the remembered answers or else from the engine. */
static espeak_ng_STATUS voice_status(const char *voice)
{
	espeak_ng_STATUS st = ENS_OK;
	bool known = false;

	pthread_mutex_lock(&checked_lock);
	for (size_t i = 0; i < n_checked && !known; i++)
		if (!strcmp(checked[i].name, voice))
			st = checked[i].status, known = true;
	pthread_mutex_unlock(&checked_lock);
	if (known)
		return st;
	pthread_mutex_lock(&engine_lock);
	st = set_voice(voice);
	pthread_mutex_unlock(&engine_lock);
	pthread_mutex_lock(&checked_lock);
	if (n_checked < MAX_CHECKED) {
		str_copy(checked[n_checked].name, voice, sizeof(checked[n_checked].name));
		checked[n_checked++].status = st;
	}
	pthread_mutex_unlock(&checked_lock);
	return st;
}

static int espeak_check_voice(const char *voice, char *err, size_t errlen)
{
	espeak_ng_STATUS st;

	if (!valid_name(voice))
		return errbuf_set(err, errlen, "invalid espeak-ng voice name \"%.*s\"", MAX_NAME, voice);
	pthread_once(&engine_once, init_engine);
	if (!engine_rate)
		return errbuf_set(err, errlen, "%s", engine_err);
	st = voice_status(voice);
	if (st == ENS_VOICE_NOT_FOUND)
		return errbuf_set(err, errlen, "espeak-ng has no voice \"%s\"", voice);
	return st == ENS_OK ? 0 : status_error(st, err, errlen, "cannot load the voice");
}

const struct tts_engine tts_espeak_engine = {
	.name = "espeak",
	.synthesize = espeak_synthesize,
	.check_voice = espeak_check_voice,
};
