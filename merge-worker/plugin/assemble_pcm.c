/*
 * PCM buffers and the bundled music: each track is a four-bar loop
 * synthesised sample by sample, so the plugin ships no audio files.
 */
#include "assemble_pcm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"
#include "banned.h"

void assemble__pcm_alloc(struct assemble__pcm *p, int64_t n)
{
	p->n = n;
	for (int c = 0; c < 2; c++)
		p->ch[c] = xcalloc((size_t)(n > 0 ? n : 1), sizeof(float));
}

void assemble__pcm_release(struct assemble__pcm *p)
{
	for (int c = 0; c < 2; c++) {
		free(p->ch[c]);
		p->ch[c] = NULL;
	}
	p->n = 0;
}

/* Decodes up to max samples of path into out at offset `at`; *got says how many. */
/* Chords of the tracks' four-bar loop (A minor, F, C, G), in Hz. */
static const double chords[4][3] = {
	{ 220.00, 261.63, 329.63 }, { 174.61, 220.00, 261.63 }, { 130.81, 164.81, 196.00 }, { 196.00, 246.94, 293.66 }
};

/* One sample of a track at time t seconds; the loop repeats every 16 s. */
static double track_sample(int kind, double t)
{
	double bar = fmod(t, 16.0) / 4, in = fmod(t, 4.0), v = 0;
	const double *ch = chords[(int)bar % 4];

	if (kind == 0) { /* calm: a slow swelling pad */
		double env = pow(sin(M_PI * in / 4), 2);

		for (int i = 0; i < 3; i++)
			v += env * (sin(2 * M_PI * ch[i] * t) + 0.3 * sin(4 * M_PI * ch[i] * t)) / 3;
	} else if (kind == 1) { /* bright: plucked arpeggio, eight notes a bar */
		int step = (int)(in * 2);
		double since = in - step * 0.5, f = ch[step % 3] * (step & 4 ? 4 : 2);

		v = exp(-5 * since) * sin(2 * M_PI * f * t);
	} else { /* pulse: a bass pulse twice a second over a quiet pad */
		double since = fmod(t, 0.5);

		v = exp(-8 * since) * sin(2 * M_PI * ch[0] / 2 * t) + 0.15 * sin(2 * M_PI * ch[2] * t);
	}
	return 0.25 * v;
}

int assemble__pcm_track(const char *name, struct assemble__pcm *out, int64_t n)
{
	int kind = -1;

	for (int i = 0; media_music_tracks[i]; i++)
		if (strcmp(name, media_music_tracks[i]) == 0)
			kind = i;
	if (kind < 0)
		return -1;
	assemble__pcm_alloc(out, n);
	for (int64_t i = 0; i < n; i++) {
		double t = (double)i / ASSEMBLE__RATE, s = track_sample(kind, t);

		/* A slight delay on the right channel gives the bed some width. */
		out->ch[0][i] = (float)s;
		out->ch[1][i] = (float)track_sample(kind, fmax(0, t - 0.012));
	}
	return 0;
}
