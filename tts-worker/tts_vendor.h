/*
 * What the tts vendors share, for tts-worker/providers/ only: helpers for
 * their answers.
 */
#ifndef REEL_TTS_VENDOR_H
#define REEL_TTS_VENDOR_H

#include <stddef.h>

#include "tts.h"

/* Copies an audio body into out (raw_rate as in tts_audio). Always 0. */
int tts_provider_take_body(const char *body, size_t len, int raw_rate, struct tts_audio *out);
/* The message of a vendor's error body, or the body's start. */
void tts_provider_error_text(const char *body, size_t len, char *out, size_t outlen);
/* The sample rate of a "pcm" format: "pcm_24000" -> 24000; "pcm" -> fallback;
 * 0 when format does not start with prefix. */
int tts_provider_pcm_rate(const char *format, const char *prefix, int fallback);

#endif
