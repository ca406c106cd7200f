/*
 * Speaking one shot: the provider's calls on the loop, then decoding,
 * joining, storing and timing on the thread pool, ending in
 * worker_task_done. voice.c claims and commits; this file does the work.
 */
#ifndef REEL_SPEAK_H
#define REEL_SPEAK_H

#include <stdint.h>
#include <uv.h>

#include "cast.h"
#include "http_client.h"
#include "provider_calls.h"
#include "tts.h"
#include "tts_config.h"
#include "worker.h"

/* The stage's process-wide state (worker_app); owned by voice.c. */
struct speak_state {
	struct tts_settings *settings;
	struct http_client *http;
	const char *provider; /* REEL_TTS_PROVIDER */
	struct cast cast;
	uint64_t cast_at;                /* uv_now() when cast was read */
	void **vendor_cfgs;              /* each vendor's settings (tts_provider_configs_load) */
	const struct tts_engine *espeak; /* from the plugin; NULL when media is skipped */
	int (*assemble)(struct tts_part *, size_t, const char *, struct tts_result *, char *, size_t);
};

/* One shot being spoken (t->data); speak_data_free releases it. */
struct speak_data {
	char *text, *language, *voice;     /* language: the job's or detected; voice: NULL for the default */
	const char *provider;              /* who speaks, as the price table names it; NULL: nobody (media skipped) */
	const struct tts_provider *vendor; /* NULL: espeak */
	const void *vendor_cfg;            /* its settings */
	struct storage *storage;
	char key[128]; /* where the audio was stored */
	struct tts_result res;
	char *timings; /* JSON for shots.timings */
	/* in progress */
	char **parts;
	size_t n_parts, done;    /* parts split, parts answered */
	struct tts_audio *audio; /* one per part */
	struct http_client_call *call;
	uv_work_t work;
	struct provider_call *calls; /* this attempt's vendor calls, for provider_calls */
	size_t n_calls;
};

/* ops->start: speaks t's shot, calling worker_task_done(t) at the end. */
void speak_start(struct speak_state *st, struct task *t);
void speak_data_free(struct speak_data *sd);

#endif
