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
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <espeak-ng/espeak_ng.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <libswresample/swresample.h>

#include "log.h"
#include "tts.h"
#include "banned.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the WAV writer stores host-order samples; add byte swapping for this target"
#endif

#define OUT_RATE 48000
#define PAD_MS 50
#define SILENCE_LEVEL 64 /* |sample| at or below this is silence (about -54 dBFS) */
#define MAX_AUDIO_S 900  /* refuse narration that speaks longer than this */
#define MAX_NAME 48

struct pcm {
	int16_t *s;
	size_t n, cap;
	size_t limit;  /* samples at most */
	bool overflow; /* synthesis stopped at the limit */
};

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
static int engine_rate;       /* espeak-ng's output rate; 0 if it failed to start */
static char engine_err[400];  /* why it failed to start */

static int on_samples(short *wav, int n, espeak_EVENT *events)
{
	struct pcm *pcm = events ? events->user_data : NULL;

	if (!pcm || !wav || n <= 0)
		return 0;
	if (pcm->n + (size_t)n > pcm->limit) {
		pcm->overflow = true;
		return 1; /* stops the synthesis */
	}
	if (pcm->n + (size_t)n > pcm->cap) {
		pcm->cap = (pcm->n + (size_t)n) * 2;
		pcm->s = xrealloc(pcm->s, pcm->cap * sizeof(*pcm->s));
	}
	memcpy(pcm->s + pcm->n, wav, (size_t)n * sizeof(*wav));
	pcm->n += (size_t)n;
	return 0;
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
	return n > 0 && n <= MAX_NAME && strspn(s, "abcdefghijklmnopqrstuvwxyz"
						    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-") == n;
}

/* Fills names[0..1] with the voices to try; the language is matched on its
 * primary subtag ("zh-TW" is "zh"), and an unmapped one is tried as a voice. */
static int pick_voices(const struct tts_request *rq, const char *names[2], char *err, size_t errlen)
{
	const char *lang;
	size_t i, len;

	names[0] = names[1] = NULL;
	if (rq->voice && *rq->voice) {
		if (!valid_name(rq->voice))
			return errorf(err, errlen, "invalid espeak-ng voice name \"%.*s\"", MAX_NAME,
				      rq->voice);
		names[0] = rq->voice;
		return 0;
	}
	lang = rq->language && *rq->language ? rq->language : tts_detect_language(rq->text);
	if (!valid_name(lang))
		return errorf(err, errlen, "invalid language \"%.*s\"", MAX_NAME, lang);
	len = strcspn(lang, "-_");
	for (i = 0; i < ARRAY_SIZE(voice_map); i++) {
		if (strlen(voice_map[i].lang) == len && !strncasecmp(lang, voice_map[i].lang, len)) {
			names[0] = voice_map[i].voice;
			names[1] = voice_map[i].fallback;
			return 0;
		}
	}
	names[0] = lang;
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
static int speak(const char *text, const char *const names[2], struct pcm *pcm, char *err,
		 size_t errlen)
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
		st = espeak_ng_Synthesize(text, strlen(text) + 1, 0, POS_CHARACTER, 0,
					  espeakCHARS_UTF8, NULL, pcm);
	pthread_mutex_unlock(&engine_lock);

	if (pcm->overflow)
		return errorf(err, errlen, "narration is too long (more than %d s of speech)",
			      MAX_AUDIO_S);
	if (st == ENS_VOICE_NOT_FOUND)
		return errorf(err, errlen, "espeak-ng has no voice \"%s\"", used);
	if (st != ENS_OK)
		return status_error(st, err, errlen, "synthesis failed");
	return 0;
}

/* Replaces pcm's samples with the audible part framed by exactly PAD_MS on
 * each side, taken from the original where it has them and silent otherwise;
 * -1 if nothing is audible. */
static int trim(struct pcm *pcm, int rate)
{
	size_t pad = (size_t)rate * PAD_MS / 1000, a = 0, b = pcm->n, from, to, n;
	int16_t *s;

	while (a < b && abs(pcm->s[a]) <= SILENCE_LEVEL)
		a++;
	while (b > a && abs(pcm->s[b - 1]) <= SILENCE_LEVEL)
		b--;
	if (a == b)
		return -1;
	from = a > pad ? a - pad : 0;
	to = pcm->n - b > pad ? b + pad : pcm->n;
	n = pad + (b - a) + pad;
	s = xcalloc(n, sizeof(*s));
	memcpy(s + (pad - (a - from)), pcm->s + from, (to - from) * sizeof(*s));
	free(pcm->s);
	pcm->s = s;
	pcm->n = pcm->cap = n;
	return 0;
}

/* Converts n mono samples at in_rate to OUT_RATE; *out is the caller's. */
static int resample(const int16_t *in, size_t n, int in_rate, int16_t **out, size_t *out_n,
		    char *err, size_t errlen)
{
	AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
	SwrContext *swr = NULL;
	const uint8_t *src = (const uint8_t *)in;
	uint8_t *dst;
	int64_t cap;
	int got, tail;

	if (swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_S16, OUT_RATE, &mono,
				AV_SAMPLE_FMT_S16, in_rate, 0, NULL) < 0 || swr_init(swr) < 0) {
		swr_free(&swr);
		return errorf(err, errlen, "cannot resample %d Hz to %d Hz", in_rate, OUT_RATE);
	}
	/* Room for every input sample plus what the filter holds back. */
	cap = av_rescale_rnd((int64_t)n, OUT_RATE, in_rate, AV_ROUND_UP) + 4096;
	*out = xmalloc((size_t)cap * sizeof(**out));
	dst = (uint8_t *)*out;
	got = swr_convert(swr, &dst, (int)cap, &src, (int)n);
	tail = 0;
	if (got >= 0) {
		dst = (uint8_t *)(*out + got);
		tail = swr_convert(swr, &dst, (int)cap - got, NULL, 0); /* flush */
	}
	swr_free(&swr);
	if (got < 0 || tail < 0) {
		free(*out);
		*out = NULL;
		return errorf(err, errlen, "resampling to %d Hz failed", OUT_RATE);
	}
	*out_n = (size_t)got + (size_t)tail;
	return 0;
}

static void put_le(uint8_t *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wav_header(uint8_t h[44], uint32_t data_bytes)
{
	memcpy(h, "RIFF", 4);
	put_le(h + 4, 36 + data_bytes, 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le(h + 16, 16, 4);           /* fmt chunk size */
	put_le(h + 20, 1, 2);            /* PCM */
	put_le(h + 22, 1, 2);            /* mono */
	put_le(h + 24, OUT_RATE, 4);
	put_le(h + 28, OUT_RATE * 2, 4); /* bytes per second */
	put_le(h + 32, 2, 2);            /* bytes per frame */
	put_le(h + 34, 16, 2);           /* bits per sample */
	memcpy(h + 36, "data", 4);
	put_le(h + 40, data_bytes, 4);
}

static int write_wav(const char *path, const int16_t *s, size_t n, char *err, size_t errlen)
{
	uint8_t h[44];
	FILE *f = fopen(path, "wb");
	bool ok;

	if (!f)
		return errorf(err, errlen, "cannot create %s: %s", path, strerror(errno));
	wav_header(h, (uint32_t)(n * sizeof(*s)));
	ok = fwrite(h, sizeof(h), 1, f) == 1 && fwrite(s, sizeof(*s), n, f) == n;
	ok = !fclose(f) && ok;
	if (!ok) {
		int e = errno;

		unlink(path);
		return errorf(err, errlen, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

static int espeak_synthesize(const struct tts_request *rq, const char *out_path,
			     struct tts_result *res, char *err, size_t errlen)
{
	struct pcm pcm = { 0 };
	const char *names[2];
	int16_t *audio = NULL;
	size_t n = 0;
	int rc = -1;

	if (!rq->text || is_blank(rq->text))
		return errorf(err, errlen, "narration is empty");
	if (pick_voices(rq, names, err, errlen))
		return -1;
	pthread_once(&engine_once, init_engine);
	if (!engine_rate)
		return errorf(err, errlen, "%s", engine_err);

	pcm.limit = (size_t)engine_rate * MAX_AUDIO_S;
	if (speak(rq->text, names, &pcm, err, errlen))
		goto out;
	if (trim(&pcm, engine_rate)) {
		errorf(err, errlen, "narration has nothing espeak-ng can speak");
		goto out;
	}
	if (resample(pcm.s, pcm.n, engine_rate, &audio, &n, err, errlen) ||
	    write_wav(out_path, audio, n, err, errlen))
		goto out;
	res->sample_rate = OUT_RATE;
	res->duration_ms = ((int64_t)n * 1000 + OUT_RATE / 2) / OUT_RATE;
	rc = 0;
out:
	free(pcm.s);
	free(audio);
	return rc;
}

const struct tts_provider tts_provider_espeak = {
	.name = "espeak",
	.synthesize = espeak_synthesize,
};
