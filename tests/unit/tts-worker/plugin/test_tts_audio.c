/*
 * Unit tests for the tts-worker plugin's audio path: vendor audio in WAV,
 * raw PCM, MP3 and Ogg/Opus decoded to 48 kHz mono, silence trimmed, parts
 * joined with a crossfade, and corrupt or empty bodies refused with a
 * readable reason. Fixtures are sine tones framed by silence; the compressed
 * ones are encoded by the ffmpeg program.
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcm.h"
#include "str.h"
#include "tts.h"
#include "banned.h"

#define TONE_MS 1000
#define SILENCE_MS 400

static char dir[64];

static void setup(void)
{
	str_copy(dir, "/tmp/test_tts_audio.XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(cmd);
}

/* SILENCE_MS, a TONE_MS sine at hz, SILENCE_MS; 16-bit mono at rate. */
static struct pcm tone(int rate, double hz)
{
	struct pcm p = { 0 };
	size_t quiet = (size_t)rate * SILENCE_MS / 1000, loud = (size_t)rate * TONE_MS / 1000;
	int16_t *s = xcalloc(quiet * 2 + loud, sizeof(*s));
	for (size_t i = 0; i < loud; i++)
		s[quiet + i] = (int16_t)(12000 * sin(2 * M_PI * hz * (double)i / rate));
	ck_assert(pcm_append(&p, s, quiet * 2 + loud));
	free(s);
	return p;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	char *buf = xmalloc(*len + 1);
	ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

/* The tone as rate Hz raw PCM encoded by the ffmpeg program into a file of ext. */
static char *encoded(int rate, const char *codec, const char *ext, size_t *len)
{
	struct pcm p = tone(rate, 440);
	char *raw = xasprintf("%s/in.raw", dir), *out = xasprintf("%s/out.%s", dir, ext);
	FILE *f = fopen(raw, "wb");
	ck_assert_uint_eq(fwrite(p.s, 2, p.n, f), p.n);
	fclose(f);
	char *cmd = xasprintf("ffmpeg -v error -y -f s16le -ar %d -ac 1 -i '%s' -c:a %s -ar %d '%s'", rate, raw, codec,
			      strcmp(codec, "libopus") == 0 ? 48000 : rate, out);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
	char *data = read_all(out, len);
	pcm_release(&p);
	free(cmd);
	free(raw);
	free(out);
	return data;
}

/* Assembles one part and checks the WAV: 48 kHz mono, the tone plus 2 x 50 ms. */
static void check_one(const void *data, size_t len, int raw_rate, int64_t slack_ms)
{
	struct tts_part part = { .data = data, .len = len, .raw_rate = raw_rate };
	struct tts_result res = { 0 };
	char *out = xasprintf("%s/out.wav", dir), err[300] = "";
	ck_assert_msg(tts_decode_assemble(&part, 1, out, &res, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(res.sample_rate, 48000);
	int64_t want = TONE_MS + 2 * PCM_PAD_MS;
	ck_assert_msg(llabs(res.duration_ms - want) <= slack_ms, "duration %lld, want %lld", (long long)res.duration_ms,
		      (long long)want);
	size_t wlen;
	char *wav = read_all(out, &wlen);
	ck_assert_int_eq(pcm_ms((wlen - 44) / 2), res.duration_ms); /* the duration is the samples written */
	ck_assert_int_eq(memcmp(wav, "RIFF", 4), 0);
	ck_assert_int_eq((uint8_t)wav[22], 1);                                                      /* mono */
	ck_assert_int_eq((uint8_t)wav[24] | (uint8_t)wav[25] << 8 | (uint8_t)wav[26] << 16, 48000); /* rate */
	/* the leading silence was cut: a tone starts PCM_PAD_MS in (slack for codec delay) */
	ck_assert_int_le(part.shift_ms, 0);
	free(wav);
	free(out);
}

START_TEST(test_wav_22k)
{
	size_t len;
	char *data = encoded(22050, "pcm_s16le", "wav", &len);
	check_one(data, len, 0, 5);
	free(data);
}

START_TEST(test_raw_pcm)
{
	struct pcm p = tone(24000, 300);
	check_one(p.s, p.n * 2, 24000, 5);
	pcm_release(&p);
}

START_TEST(test_mp3)
{
	size_t len;
	char *data = encoded(44100, "libmp3lame", "mp3", &len);
	check_one(data, len, 0, 40); /* MP3 frames pad the edges a little */
	free(data);
}

START_TEST(test_opus)
{
	size_t len;
	char *data = encoded(48000, "libopus", "ogg", &len);
	check_one(data, len, 0, 40);
	free(data);
}

START_TEST(test_corrupt_and_empty)
{
	static const char junk[] = "\xff\xfb\x90\x64 this is not an mp3 frame, only text pretending to be one";
	struct tts_part part = { .data = junk, .len = sizeof(junk) };
	struct tts_result res = { 0 };
	char *out = xasprintf("%s/out.wav", dir), err[300] = "";
	ck_assert_int_eq(tts_decode_assemble(&part, 1, out, &res, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "part 1 of 1") && strlen(err) > 15, "%s", err);
	part = (struct tts_part){ .data = "", .len = 0 };
	ck_assert_int_eq(tts_decode_assemble(&part, 1, out, &res, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "empty"), "%s", err);
	struct pcm quiet = { 0 };
	int16_t zeros[4800] = { 0 };
	ck_assert(pcm_append(&quiet, zeros, 4800));
	part = (struct tts_part){ .data = quiet.s, .len = quiet.n * 2, .raw_rate = 48000 };
	ck_assert_int_eq(tts_decode_assemble(&part, 1, out, &res, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "silent"), "%s", err);
	part = (struct tts_part){ .data = "abc", .len = 3, .raw_rate = 24000 };
	ck_assert_int_eq(tts_decode_assemble(&part, 1, out, &res, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "odd"), "%s", err);
	ck_assert_int_ne(access(out, F_OK), 0);
	pcm_release(&quiet);
	free(out);
}

START_TEST(test_join_two_parts)
{
	struct pcm a = tone(24000, 300), b = tone(24000, 500);
	struct tts_part parts[2] = { { .data = a.s, .len = a.n * 2, .raw_rate = 24000 },
				     { .data = b.s, .len = b.n * 2, .raw_rate = 24000 } };
	struct tts_result res = { 0 };
	char *out = xasprintf("%s/out.wav", dir), err[300] = "";
	ck_assert_msg(tts_decode_assemble(parts, 2, out, &res, err, sizeof(err)) == 0, "%s", err);
	int64_t one = TONE_MS + 2 * PCM_PAD_MS;
	/* the sum of the parts, less the crossfade */
	ck_assert_int_le(llabs(res.duration_ms - (2 * one - PCM_XFADE_MS)), 3);
	ck_assert_int_eq(parts[0].start_ms, 0);
	ck_assert_int_le(llabs(parts[1].start_ms - (one - PCM_XFADE_MS)), 2);
	ck_assert_int_le(llabs(parts[1].duration_ms - one), 2);
	/* a time in part 2's own audio maps past part 1: its tone began at SILENCE_MS there */
	ck_assert_int_le(llabs(SILENCE_MS + parts[1].shift_ms - (parts[1].start_ms + PCM_PAD_MS)), 3);
	pcm_release(&a);
	pcm_release(&b);
	free(out);
}

START_TEST(test_crossfade_has_no_step)
{
	struct pcm a = { 0 }, b = { 0 };
	int16_t hi[4800], lo[4800];
	for (int i = 0; i < 4800; i++)
		hi[i] = 12000, lo[i] = -12000;
	ck_assert(pcm_append(&a, hi, 4800));
	ck_assert(pcm_append(&b, lo, 4800));
	size_t at = pcm_join(&a, &b);
	ck_assert_uint_eq(at, 4800 - 480);
	ck_assert_uint_eq(a.n, 4800 * 2 - 480);
	int worst = 0;
	for (size_t i = 1; i < a.n; i++)
		if (abs(a.s[i] - a.s[i - 1]) > worst)
			worst = abs(a.s[i] - a.s[i - 1]);
	/* 24000 of swing over 480 samples: no sample-to-sample jump near a click */
	ck_assert_int_le(worst, 60);
	pcm_release(&a);
	pcm_release(&b);
}

START_TEST(test_trim)
{
	struct pcm p = tone(48000, 440);
	int64_t shift;
	ck_assert_int_eq(pcm_trim(&p, 48000, PCM_PAD_MS, true, &shift), 0);
	ck_assert_int_le(llabs(pcm_ms(p.n) - (TONE_MS + 2 * PCM_PAD_MS)), 1);
	ck_assert_int_le(llabs(shift * 1000 / 48000 + (SILENCE_MS - PCM_PAD_MS)), 1);
	pcm_release(&p);
}

static Suite *audio_suite(void)
{
	Suite *s = suite_create("tts_audio");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_wav_22k);
	tcase_add_test(tc, test_raw_pcm);
	tcase_add_test(tc, test_mp3);
	tcase_add_test(tc, test_opus);
	tcase_add_test(tc, test_corrupt_and_empty);
	tcase_add_test(tc, test_join_two_parts);
	tcase_add_test(tc, test_crossfade_has_no_step);
	tcase_add_test(tc, test_trim);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(audio_suite());
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
