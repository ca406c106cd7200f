/*
 * The soundtrack's mix, in libavfilter graphs over buffers in memory: the
 * music ducked under the narration (sidechaincompress), faded out at the
 * end, summed with the voice; then the whole loudness-normalised to -14 LUFS
 * integrated: measured with ebur128, raised or lowered with a true-peak-safe
 * limiter, measured again and trimmed. The bundled music is synthesised here.
 */
#include "assemble_mix.h"

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assemble_audio.h"
#include "errbuf.h"
#include "media.h"
#include "banned.h"

#define TARGET_LUFS -14.0
#define SILENT_LUFS -69.0 /* below this the mix is treated as silence and left alone */
#define CHUNK 4096
#define PCM_FORMAT "aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo"

/* An audio graph with inputs in0.. fed from buffers and its output collected. */
struct run {
	AVFilterGraph *graph;
	AVFilterContext *src[2], *sink;
	struct assemble__pcm *out;
	int64_t cap;
	double lufs; /* the last integrated loudness ebur128 reported, if any */
};

static int setup(struct run *r, const char *desc, int n_in)
{
	AVFilterInOut *outs = NULL, *ins = avfilter_inout_alloc();
	int ret = ins ? 0 : AVERROR(ENOMEM);

	r->graph = avfilter_graph_alloc();
	if (!r->graph)
		ret = AVERROR(ENOMEM);
	for (int i = n_in - 1; i >= 0 && ret >= 0; i--) {
		AVFilterInOut *o = avfilter_inout_alloc();
		char name[8];

		snprintf(name, sizeof(name), "in%d", i);
		ret = o ? avfilter_graph_create_filter(&r->src[i], avfilter_get_by_name("abuffer"), name,
						       "time_base=1/48000:sample_rate=48000:sample_fmt=fltp:"
						       "channel_layout=stereo",
						       NULL, r->graph)
			: AVERROR(ENOMEM);
		if (o) {
			o->name = av_strdup(name);
			o->filter_ctx = r->src[i];
			o->next = outs;
			outs = o;
		}
	}
	if (ret >= 0)
		ret = avfilter_graph_create_filter(&r->sink, avfilter_get_by_name("abuffersink"), "out", NULL, NULL,
						   r->graph);
	if (ret >= 0) {
		ins->name = av_strdup("out");
		ins->filter_ctx = r->sink;
		ret = avfilter_graph_parse_ptr(r->graph, desc, &ins, &outs, NULL);
	}
	if (ret >= 0)
		ret = avfilter_graph_config(r->graph, NULL);
	avfilter_inout_free(&ins);
	avfilter_inout_free(&outs);
	return ret;
}

static void take(struct run *r, const AVFrame *f)
{
	const AVDictionaryEntry *e = av_dict_get(f->metadata, "lavfi.r128.I", NULL, 0);

	if (e)
		r->lufs = strtod(e->value, NULL);
	if (r->out->n + f->nb_samples > r->cap) {
		r->cap = (r->out->n + f->nb_samples) * 2;
		for (int c = 0; c < 2; c++)
			r->out->ch[c] = xrealloc(r->out->ch[c], (size_t)r->cap * sizeof(float));
	}
	for (int c = 0; c < 2; c++)
		memcpy(r->out->ch[c] + r->out->n, f->extended_data[c], (size_t)f->nb_samples * sizeof(float));
	r->out->n += f->nb_samples;
}

static int drain(struct run *r, AVFrame *f)
{
	int ret;

	while ((ret = av_buffersink_get_frame(r->sink, f)) >= 0) {
		take(r, f);
		av_frame_unref(f);
	}
	return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : ret;
}

static int push(AVFilterContext *src, const struct assemble__pcm *in, int64_t at)
{
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	AVFrame *f;
	int n = in->n - at < CHUNK ? (int)(in->n - at) : CHUNK, ret;

	if (n <= 0)
		return 0;
	f = av_frame_alloc();
	if (!f)
		return AVERROR(ENOMEM);
	f->format = AV_SAMPLE_FMT_FLTP;
	f->sample_rate = ASSEMBLE__RATE;
	f->nb_samples = n;
	f->pts = at;
	ret = av_channel_layout_copy(&f->ch_layout, &stereo);
	if (ret >= 0)
		ret = av_frame_get_buffer(f, 0);
	for (int c = 0; ret >= 0 && c < 2; c++)
		memcpy(f->data[c], in->ch[c] + at, (size_t)n * sizeof(float));
	if (ret >= 0)
		ret = av_buffersrc_add_frame(src, f);
	av_frame_free(&f);
	return ret;
}

/* Runs desc over the inputs into out (allocated here); *lufs gets ebur128's figure. */
static int run_graph(const char *desc, const struct assemble__pcm *const *in, int n_in, struct assemble__pcm *out,
		     double *lufs, char *err, size_t errlen)
{
	struct run r = { .out = out, .lufs = -HUGE_VAL };
	AVFrame *f = av_frame_alloc();
	int64_t len = 0;
	int ret = f ? setup(&r, desc, n_in) : AVERROR(ENOMEM);

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n_in; i++)
		len = in[i]->n > len ? in[i]->n : len;
	for (int64_t at = 0; ret >= 0 && at < len; at += CHUNK) {
		for (int i = 0; i < n_in && ret >= 0; i++)
			ret = push(r.src[i], in[i], at);
		if (ret >= 0)
			ret = drain(&r, f);
	}
	for (int i = 0; i < n_in && ret >= 0; i++)
		ret = av_buffersrc_add_frame(r.src[i], NULL);
	if (ret >= 0)
		ret = drain(&r, f);
	av_frame_free(&f);
	avfilter_graph_free(&r.graph);
	if (lufs)
		*lufs = r.lufs;
	if (ret < 0) {
		assemble__pcm_release(out);
		return errbuf_set(err, errlen, "audio mixing failed: %s", av_err2str(ret));
	}
	return 0;
}

/* Makes p exactly n samples long: trimmed, or padded with silence. */
static void fit(struct assemble__pcm *p, int64_t n)
{
	for (int c = 0; c < 2; c++) {
		p->ch[c] = xrealloc(p->ch[c], (size_t)(n > 0 ? n : 1) * sizeof(float));
		if (n > p->n)
			memset(p->ch[c] + p->n, 0, (size_t)(n - p->n) * sizeof(float));
	}
	p->n = n;
}

int assemble__loudness(const struct assemble__pcm *pcm, double *lufs, char *err, size_t errlen)
{
	const struct assemble__pcm *in[] = { pcm };
	struct assemble__pcm out;

	if (run_graph("[in0]ebur128=metadata=1," PCM_FORMAT "[out]", in, 1, &out, lufs, err, errlen) < 0)
		return -1;
	assemble__pcm_release(&out);
	return 0;
}

/* The music under the voice: ducked while anyone speaks, faded out at the end. */
static int duck(const struct assemble__pcm *voice, const struct assemble__pcm *music, struct assemble__pcm *out,
		char *err, size_t errlen)
{
	const struct assemble__pcm *in[] = { voice, music };
	double total = (double)voice->n / ASSEMBLE__RATE, fade = fmin(3.0, total / 3);
	char desc[512];

	snprintf(desc, sizeof(desc),
		 "[in1]volume=0.5[m];[in0]asplit=2[v1][v2];"
		 "[m][v1]sidechaincompress=threshold=0.015:ratio=12:attack=20:release=400[d];"
		 "[d]afade=t=out:st=%.3f:d=%.3f[f];[v2][f]amix=inputs=2:duration=first:normalize=0," PCM_FORMAT "[out]",
		 total - fade, fade);
	if (run_graph(desc, in, 2, out, NULL, err, errlen) < 0)
		return -1;
	fit(out, voice->n);
	return 0;
}

/* Brings pcm to TARGET_LUFS: gain with a -1 dBFS limiter, then a final trim. */
static int normalise(struct assemble__pcm *pcm, double *loudness, char *err, size_t errlen)
{
	const struct assemble__pcm *in[] = { pcm };
	struct assemble__pcm out;
	double lufs, trim;
	char desc[256];

	if (assemble__loudness(pcm, loudness, err, errlen) < 0)
		return -1;
	if (*loudness <= SILENT_LUFS)
		return 0;
	snprintf(desc, sizeof(desc),
		 "[in0]volume=%.3fdB,alimiter=limit=0.89:level=0:latency=1:attack=5:release=50," PCM_FORMAT "[out]",
		 TARGET_LUFS - *loudness);
	if (run_graph(desc, in, 1, &out, NULL, err, errlen) < 0)
		return -1;
	fit(&out, pcm->n);
	assemble__pcm_release(pcm);
	*pcm = out;
	/* The limiter took a little off the loudest parts; make that up. */
	if (assemble__loudness(pcm, &lufs, err, errlen) < 0)
		return -1;
	trim = pow(10, (TARGET_LUFS - lufs) / 20);
	for (int c = 0; c < 2; c++)
		for (int64_t i = 0; i < pcm->n; i++)
			pcm->ch[c][i] = fmaxf(-1.0f, fminf(1.0f, (float)(pcm->ch[c][i] * trim)));
	return 0;
}

int assemble__mix(const struct assemble_spec *sp, const int64_t *starts, int64_t total, struct assemble__pcm *out,
		  double *loudness, char *err, size_t errlen)
{
	struct assemble__pcm voice = { 0 }, music = { 0 };
	int rc = -1;

	if (assemble__voice_and_music(sp, starts, total, &voice, &music, err, errlen) < 0)
		goto done;
	if (music.n > 0) {
		if (duck(&voice, &music, out, err, errlen) < 0)
			goto done;
	} else {
		*out = voice;
		memset(&voice, 0, sizeof(voice));
	}
	/* Long videos hold minutes of float audio: keep at most two copies at a time. */
	assemble__pcm_release(&voice);
	assemble__pcm_release(&music);
	rc = normalise(out, loudness, err, errlen);
	if (rc < 0)
		assemble__pcm_release(out);
done:
	assemble__pcm_release(&voice);
	assemble__pcm_release(&music);
	return rc;
}
