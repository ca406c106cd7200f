/*
 * Sample buffers: trimming, resampling with libswresample, click-free joins
 * and the WAV writer every tts provider's output goes through.
 */
#include "pcm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <libswresample/swresample.h>
#include "errbuf.h"
#include "banned.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the WAV writer stores host-order samples; add byte swapping for this target"
#endif

#define SILENCE_LEVEL 64 /* |sample| at or below this is silence (about -54 dBFS) */

void pcm_release(struct pcm *p)
{
	free(p->s);
	p->s = NULL;
	p->n = p->cap = 0;
}

bool pcm_append(struct pcm *p, const int16_t *s, size_t n)
{
	if (p->limit && p->n + n > p->limit) {
		p->overflow = true;
		return false;
	}
	if (p->n + n > p->cap) {
		p->cap = (p->n + n) * 2;
		p->s = xrealloc(p->s, p->cap * sizeof(*p->s));
	}
	memcpy(p->s + p->n, s, n * sizeof(*s));
	p->n += n;
	return true;
}

int pcm_trim(struct pcm *p, int rate, int pad_ms, bool exact_pad, int64_t *shift)
{
	size_t pad = (size_t)rate * (size_t)pad_ms / 1000, a = 0, b = p->n, from, to, lead, n;
	int16_t *s;
	while (a < b && abs(p->s[a]) <= SILENCE_LEVEL)
		a++;
	while (b > a && abs(p->s[b - 1]) <= SILENCE_LEVEL)
		b--;
	if (a == b)
		return -1;
	from = a > pad ? a - pad : 0;
	to = p->n - b > pad ? b + pad : p->n;
	/* With exact_pad the audible part starts exactly pad samples in. */
	lead = exact_pad ? pad - (a - from) : 0;
	n = exact_pad ? pad + (b - a) + pad : to - from;
	s = xcalloc(n, sizeof(*s));
	memcpy(s + lead, p->s + from, (to - from) * sizeof(*s));
	free(p->s);
	p->s = s;
	p->n = p->cap = n;
	*shift = (int64_t)lead - (int64_t)from;
	return 0;
}

int pcm_resample(struct pcm *p, int in_rate, char *err, size_t errlen)
{
	AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
	SwrContext *swr = NULL;
	const uint8_t *src = (const uint8_t *)p->s;
	uint8_t *dst;
	int16_t *out;
	int64_t cap;
	int got, tail = 0;
	if (in_rate == PCM_RATE || p->n == 0)
		return 0;
	if (in_rate <= 0 ||
	    swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_S16, PCM_RATE, &mono, AV_SAMPLE_FMT_S16, in_rate, 0, NULL) <
		    0 ||
	    swr_init(swr) < 0) {
		swr_free(&swr);
		return errbuf_set(err, errlen, "cannot resample %d Hz to %d Hz", in_rate, PCM_RATE);
	}
	/* Room for every input sample plus what the filter holds back. */
	cap = av_rescale_rnd((int64_t)p->n, PCM_RATE, in_rate, AV_ROUND_UP) + 4096;
	out = xmalloc((size_t)cap * sizeof(*out));
	dst = (uint8_t *)out;
	got = swr_convert(swr, &dst, (int)cap, &src, (int)p->n);
	if (got >= 0) {
		dst = (uint8_t *)(out + got);
		tail = swr_convert(swr, &dst, (int)cap - got, NULL, 0); /* flush */
	}
	swr_free(&swr);
	if (got < 0 || tail < 0) {
		free(out);
		return errbuf_set(err, errlen, "resampling to %d Hz failed", PCM_RATE);
	}
	free(p->s);
	p->s = out;
	p->n = (size_t)got + (size_t)tail;
	p->cap = (size_t)cap;
	return 0;
}

size_t pcm_join(struct pcm *a, const struct pcm *b)
{
	size_t x = (size_t)PCM_RATE * PCM_XFADE_MS / 1000, at;
	if (x > a->n)
		x = a->n;
	if (x > b->n)
		x = b->n;
	at = a->n - x;
	/* A linear crossfade over the overlap: neither edge can step. */
	for (size_t i = 0; i < x; i++) {
		double g = (double)(i + 1) / (double)(x + 1);
		a->s[at + i] = (int16_t)((1.0 - g) * a->s[at + i] + g * b->s[i]);
	}
	a->n = at + x;
	a->limit = 0;
	(void)pcm_append(a, b->s + x, b->n - x);
	return at;
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
	put_le(h + 16, 16, 4); /* fmt chunk size */
	put_le(h + 20, 1, 2);  /* PCM */
	put_le(h + 22, 1, 2);  /* mono */
	put_le(h + 24, PCM_RATE, 4);
	put_le(h + 28, PCM_RATE * 2, 4); /* bytes per second */
	put_le(h + 32, 2, 2);            /* bytes per frame */
	put_le(h + 34, 16, 2);           /* bits per sample */
	memcpy(h + 36, "data", 4);
	put_le(h + 40, data_bytes, 4);
}

int pcm_write_wav(const char *path, const struct pcm *p, char *err, size_t errlen)
{
	uint8_t h[44];
	FILE *f = fopen(path, "wb");
	bool ok;
	if (!f)
		return errbuf_set(err, errlen, "cannot create %s: %s", path, strerror(errno));
	wav_header(h, (uint32_t)(p->n * sizeof(*p->s)));
	ok = fwrite(h, sizeof(h), 1, f) == 1 && fwrite(p->s, sizeof(*p->s), p->n, f) == p->n;
	ok = !fclose(f) && ok;
	if (!ok) {
		int e = errno;
		unlink(path);
		return errbuf_set(err, errlen, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

int64_t pcm_ms(size_t n)
{
	return ((int64_t)n * 1000 + PCM_RATE / 2) / PCM_RATE;
}
