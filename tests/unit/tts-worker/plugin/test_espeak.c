/*
 * Unit tests for the offline TTS provider and language detection: real
 * libespeak-ng synthesis into WAV files that are parsed back and measured.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <espeak-ng/espeak_ng.h>

#include "str.h"
#include "tts.h"
#include "banned.h"

#define EN_SENTENCE "The quick brown fox jumps over the lazy sleeping dog."
#define ZH_SENTENCE "今天天气很好，我们去公园散步。"

struct wav {
	uint32_t rate;
	uint16_t format, channels, bits;
	size_t n; /* samples */
	int16_t *s;
};

static char dir[64];

static void setup(void)
{
	str_copy(dir, "/tmp/test_espeak.XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static char *path_in_dir(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static uint32_t le(const uint8_t *p, int bytes)
{
	uint32_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Reads a canonical 44-byte-header WAV, checking the sizes agree with the file. */
static void read_wav(const char *path, struct wav *w)
{
	FILE *f = fopen(path, "rb");
	uint8_t h[44];
	long size;

	ck_assert_msg(f != NULL, "%s was not written", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	ck_assert_int_ge(size, 44);
	ck_assert_int_eq(fread(h, 1, 44, f), 44);
	ck_assert_int_eq(memcmp(h, "RIFF", 4), 0);
	ck_assert_uint_eq(le(h + 4, 4), (uint32_t)size - 8);
	ck_assert_int_eq(memcmp(h + 8, "WAVEfmt ", 8), 0);
	ck_assert_uint_eq(le(h + 16, 4), 16);
	w->format = (uint16_t)le(h + 20, 2);
	w->channels = (uint16_t)le(h + 22, 2);
	w->rate = le(h + 24, 4);
	ck_assert_uint_eq(le(h + 28, 4), w->rate * 2);
	ck_assert_uint_eq(le(h + 32, 2), 2);
	w->bits = (uint16_t)le(h + 34, 2);
	ck_assert_int_eq(memcmp(h + 36, "data", 4), 0);
	ck_assert_uint_eq(le(h + 40, 4), (uint32_t)size - 44);
	w->n = (size_t)(size - 44) / 2;
	w->s = xmalloc(w->n * 2 + 1);
	ck_assert_uint_eq(fread(w->s, 2, w->n, f), w->n);
	fclose(f);
}

static double rms(const struct wav *w)
{
	double sum = 0;

	for (size_t i = 0; i < w->n; i++)
		sum += (double)w->s[i] * w->s[i];
	return w->n ? sqrt(sum / (double)w->n) : 0;
}

/* Milliseconds from the start (or the end) before the first audible sample. */
static double quiet_ms(const struct wav *w, bool from_end)
{
	size_t i = 0;

	while (i < w->n && abs(w->s[from_end ? w->n - 1 - i : i]) <= 64)
		i++;
	return i * 1000.0 / w->rate;
}

/* Synthesizes text and checks everything a WAV result promises; returns its duration. */
static int64_t speak_ok(const char *text, const char *lang, const char *voice, const char *name, struct wav *out)
{
	struct tts_request rq = { .text = text, .language = lang, .voice = voice };
	struct tts_result res = { 0 };
	char err[256] = "", *path = path_in_dir(name);
	struct wav w;
	int rc = tts_espeak_engine.synthesize(&rq, path, &res, err, sizeof(err));

	ck_assert_msg(rc == 0, "synthesize failed: %s", err);
	ck_assert_int_eq(res.sample_rate, 48000);
	read_wav(path, &w);
	ck_assert_uint_eq(w.format, 1);
	ck_assert_uint_eq(w.channels, 1);
	ck_assert_uint_eq(w.bits, 16);
	ck_assert_uint_eq(w.rate, 48000);
	ck_assert_msg(llabs((int64_t)(w.n * 1000 / 48) - res.duration_ms * 1000) <= 1000,
		      "%zu samples but duration_ms %lld", w.n, (long long)res.duration_ms);
	ck_assert_msg(rms(&w) > 800, "%s is nearly silent (rms %.1f)", name, rms(&w));
	if (out)
		*out = w;
	else
		free(w.s);
	free(path);
	return res.duration_ms;
}

START_TEST(test_english)
{
	struct wav w;
	int64_t ms = speak_ok(EN_SENTENCE, "en", NULL, "en.wav", &w);

	ck_assert_msg(ms >= 1000 && ms <= 8000, "english took %lld ms", (long long)ms);
	/* Silence was trimmed to about 50 ms of padding on each side. */
	ck_assert_msg(quiet_ms(&w, false) >= 40 && quiet_ms(&w, false) <= 60, "lead %.1f ms", quiet_ms(&w, false));
	ck_assert_msg(quiet_ms(&w, true) >= 40 && quiet_ms(&w, true) <= 60, "tail %.1f ms", quiet_ms(&w, true));
	free(w.s);
}
END_TEST

START_TEST(test_mandarin_detected)
{
	int64_t ms = speak_ok(ZH_SENTENCE, NULL, NULL, "zh.wav", NULL);

	ck_assert_msg(ms >= 1000 && ms <= 10000, "mandarin took %lld ms", (long long)ms);
}
END_TEST

START_TEST(test_japanese)
{
	int64_t ms = speak_ok("こんにちは、げんきですか。", NULL, NULL, "ja.wav", NULL);

	ck_assert_msg(ms >= 500 && ms <= 10000, "japanese took %lld ms", (long long)ms);
}
END_TEST

START_TEST(test_longer_text_lasts_longer)
{
	int64_t short_ms = speak_ok("Hello there.", "en", NULL, "short.wav", NULL);
	int64_t long_ms = speak_ok(EN_SENTENCE " " EN_SENTENCE " And then it went home to sleep.", "en", NULL,
				   "long.wav", NULL);

	ck_assert_msg(long_ms > 2 * short_ms, "short %lld ms, long %lld ms", (long long)short_ms, (long long)long_ms);
}
END_TEST

START_TEST(test_voice_override)
{
	struct wav plain, female;

	speak_ok("Good morning everyone.", "en", NULL, "plain.wav", &plain);
	speak_ok("Good morning everyone.", "en", "en+f3", "female.wav", &female);
	ck_assert(plain.n != female.n || memcmp(plain.s, female.s, plain.n * 2) != 0);
	free(plain.s);
	free(female.s);
}
END_TEST

/* A voice "+m3" is a variant of the language's own voice: Mandarin stays Mandarin. */
START_TEST(test_variant_of_language_voice)
{
	struct wav f3, m3, plain;

	speak_ok("今天天气很好。", "zh", NULL, "plain.wav", &plain);
	speak_ok("今天天气很好。", "zh", "+f3", "f3.wav", &f3);
	speak_ok("今天天气很好。", "zh", "cmn+m3", "m3.wav", &m3);
	ck_assert(f3.n != m3.n || memcmp(f3.s, m3.s, f3.n * 2) != 0);
	ck_assert(plain.n != f3.n || memcmp(plain.s, f3.s, f3.n * 2) != 0);
	/* the same words in the same language last about as long in every variant */
	ck_assert_msg(f3.n > plain.n / 2 && f3.n < plain.n * 2, "%zu vs %zu", f3.n, plain.n);
	free(f3.s);
	free(m3.s);
	free(plain.s);
}
END_TEST

static void expect_failure(int want, const char *text, const char *lang, const char *voice, const char *out,
			   const char *needle)
{
	struct tts_request rq = { .text = text, .language = lang, .voice = voice };
	struct tts_result res = { 0 };
	char err[256] = "", *path = out ? xstrdup(out) : path_in_dir("fail.wav");
	struct stat st;

	ck_assert_int_eq(tts_espeak_engine.synthesize(&rq, path, &res, err, sizeof(err)), want);
	ck_assert_msg(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
	ck_assert_int_ne(stat(path, &st), 0);
	free(path);
}

START_TEST(test_failures)
{
	expect_failure(TTS_FAILED, "", NULL, NULL, NULL, "narration is empty");
	expect_failure(TTS_FAILED, " \t\r\n ", "en", NULL, NULL, "narration is empty");
	expect_failure(TTS_FAILED, "\xe3\x80\x80\xc2\xa0", NULL, NULL, NULL, "narration is empty");
	expect_failure(TTS_FAILED, NULL, NULL, NULL, NULL, "narration is empty");
	expect_failure(TTS_FAILED, "Hello.", "en", NULL, "/nonexistent-dir/x.wav", "cannot create");
	/* what no retry can fix says so */
	expect_failure(TTS_NO_VOICE, "Hello.", NULL, "../../etc/passwd", NULL, "invalid espeak-ng voice");
	expect_failure(TTS_NO_VOICE, "Hello.", NULL, "no-such-voice", NULL, "no voice \"no-such-voice\"");
	expect_failure(TTS_NO_VOICE, "Hello.", "en/../x", NULL, NULL, "invalid language");
	/* 1.51 names British English en or en-gb-x-rp, not en-gb */
	expect_failure(TTS_NO_VOICE, "Hello.", NULL, "en-gb+f3", NULL, "no voice \"en-gb+f3\"");
	/* espeak-ng itself would speak a missing variant as the plain voice */
	expect_failure(TTS_NO_VOICE, "Hello.", NULL, "en-us+nosuchvariant", NULL, "no voice \"en-us+nosuchvariant\"");
}
END_TEST

/* The voice that spoke, as the job resource shows it. */
static void expect_spoken_by(const char *text, const char *lang, const char *voice, const char *want)
{
	struct tts_request rq = { .text = text, .language = lang, .voice = voice };
	struct tts_result res = { 0 };
	char err[256] = "", *path = path_in_dir("by.wav");

	ck_assert_msg(tts_espeak_engine.synthesize(&rq, path, &res, err, sizeof(err)) == TTS_OK, "%s", err);
	ck_assert_str_eq(res.voice, want);
	free(path);
}

START_TEST(test_spoken_voice)
{
	expect_spoken_by("Hello there.", "en", NULL, "en-us");
	expect_spoken_by("Hello there.", "en", "en-gb-x-rp+m3", "en-gb-x-rp+m3");
	expect_spoken_by(ZH_SENTENCE, NULL, "+f3", "cmn+f3");
}
END_TEST

START_TEST(test_check_voice)
{
	/* the voices the migrations seed, under the names 1.51 loads */
	static const char *const load[] = { "en-us+f3", "en-us+m7", "en-gb-x-rp+f3", "en-gb-x-rp+m3", "cmn+m3",
					    "fr+f3",    "de+m3",    "es+f2",         "ja+f3",         "en" };
	/* the names 003 seeded, a missing variant, and a path */
	static const char *const missing[] = { "en-gb+f3", "fr-fr+m3",  "de-de+f3",    "es-es+m3",
					       "ja-jp+f3", "en-us+xyz", "../voices/en" };
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(load); i++)
		ck_assert_msg(tts_espeak_engine.check_voice(load[i], err, sizeof(err)) == 0, "%s: %s", load[i], err);
	for (int pass = 0; pass < 2; pass++) /* the second answer is the remembered one */
		for (size_t i = 0; i < ARRAY_SIZE(missing); i++) {
			err[0] = '\0';
			ck_assert_int_eq(tts_espeak_engine.check_voice(missing[i], err, sizeof(err)), -1);
			ck_assert_msg(strstr(err, "voice"), "%s: %s", missing[i], err);
		}
	ck_assert_int_eq(tts_espeak_engine.check_voice("en-us+f3", err, sizeof(err)), 0);
}
END_TEST

static void *speak_thread(void *arg)
{
	const char *name = arg;
	struct tts_request rq = {
		.text = strstr(name, "zh") ? ZH_SENTENCE : EN_SENTENCE,
	};
	struct tts_result res = { 0 };
	char err[256], *path = path_in_dir(name);
	intptr_t rc = tts_espeak_engine.synthesize(&rq, path, &res, err, sizeof(err));

	if (rc)
		fprintf(stderr, "%s: %s\n", name, err);
	free(path);
	return (void *)(intptr_t)(rc == 0 && res.duration_ms > 500 ? 1 : 0);
}

START_TEST(test_concurrent)
{
	static const char *const names[] = { "t1-en.wav", "t2-zh.wav", "t3-en.wav", "t4-zh.wav" };
	pthread_t t[4];
	void *ok;

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, speak_thread, (void *)names[i]), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ok), 0);
		ck_assert_msg(ok == (void *)1, "thread %d failed", i);
	}
	for (int i = 0; i < 4; i++) {
		char *path = path_in_dir(names[i]);
		struct wav w;

		read_wav(path, &w);
		ck_assert(rms(&w) > 800);
		free(w.s);
		free(path);
	}
}
END_TEST

START_TEST(test_default_data_path)
{
	const char *path = NULL;

	/* Only the packaged data may be found: no override, no ~/espeak-ng-data. */
	unsetenv("ESPEAK_DATA_PATH");
	setenv("HOME", dir, 1);
	speak_ok("Checking the data path.", NULL, NULL, "path.wav", NULL);
	espeak_Info(&path);
	ck_assert_str_eq(path, "/usr/lib/x86_64-linux-gnu/espeak-ng-data");
}
END_TEST

START_TEST(test_detect_language)
{
	ck_assert_str_eq(language_detect(EN_SENTENCE), "en");
	ck_assert_str_eq(language_detect(ZH_SENTENCE), "zh");
	ck_assert_str_eq(language_detect("東京タワーに行きました。"), "ja");
	ck_assert_str_eq(language_detect("ひらがなだけ"), "ja");
	ck_assert_str_eq(language_detect("カタカナ"), "ja");
	/* Chinese naming products stays Chinese; English quoting Chinese stays English. */
	ck_assert_str_eq(language_detect("我们使用Kubernetes和PostgreSQL部署服务。"), "zh");
	ck_assert_str_eq(language_detect("In Chinese, hello is 你好 and thank you is 谢谢."), "en");
	ck_assert_str_eq(language_detect("Tokyo means 東京 and ramen is ラーメン in Japanese."), "en");
	ck_assert_str_eq(language_detect("Ça va très bien, merci."), "en");
	ck_assert_str_eq(language_detect(""), "en");
	ck_assert_str_eq(language_detect("12345 !!! ..."), "en");
	ck_assert_str_eq(language_detect(NULL), "en");
	/* A middle dot between Chinese names is not kana. */
	ck_assert_str_eq(language_detect("李白・杜甫"), "zh");
}
END_TEST

START_TEST(test_detect_invalid_utf8)
{
	/* Stray continuation bytes, truncated and overlong sequences, surrogates,
	 * code points past U+10FFFF, and a sequence cut by the terminator. */
	ck_assert_str_eq(language_detect("\x80\xbf\xfe\xff"), "en");
	ck_assert_str_eq(language_detect("\xe4\xbb"
					 "abc"),
			 "en");
	ck_assert_str_eq(language_detect("\xc0\xaf\xe0\x80\xaf\xed\xa0\x80\xf4\x90\x80\x80"), "en");
	ck_assert_str_eq(language_detect("今天\xff\xfe天气\x80很好"), "zh");
	ck_assert_str_eq(language_detect("\xe4"), "en");
	ck_assert_str_eq(language_detect("\xf0\x9f"), "en");
	ck_assert_str_eq(language_detect("こん\xe3\x81"), "ja");
}
END_TEST

static Suite *espeak_suite(void)
{
	Suite *s = suite_create("espeak");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_english);
	tcase_add_test(tc, test_mandarin_detected);
	tcase_add_test(tc, test_japanese);
	tcase_add_test(tc, test_longer_text_lasts_longer);
	tcase_add_test(tc, test_voice_override);
	tcase_add_test(tc, test_variant_of_language_voice);
	tcase_add_test(tc, test_failures);
	tcase_add_test(tc, test_spoken_voice);
	tcase_add_test(tc, test_check_voice);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_default_data_path);
	tcase_add_test(tc, test_detect_language);
	tcase_add_test(tc, test_detect_invalid_utf8);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(espeak_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
