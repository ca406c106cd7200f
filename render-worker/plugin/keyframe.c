/*
 * Offline keyframes: a libavfilter graph (gradients → drawbox → drawtext →
 * full-range yuv420p) pulled for one frame and encoded as a JPEG. Everything
 * a picture depends on comes from an FNV-1a hash of the prompt, so a shot
 * looks the same every time it is rendered and different from its neighbours.
 * DESIGN: no shared state; each call owns its graph, encoder and temp file,
 * so calls may run concurrently on the libuv thread pool.
 */
#include "keyframe.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/mem.h>

#include "errbuf.h"
#include "keyframe_text.h"
#include "banned.h"

#define JPEG_QSCALE 3 /* 2 (best) … 31; 3 keeps text edges clean */

static const char *const font_paths[] = {
#ifdef KEYFRAME_FONT
	KEYFRAME_FONT,
#endif
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
	"/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
	"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
};

/* Paths are pasted into a filter graph description; anything outside this set
 * would need two levels of escaping, so such paths are simply not used. */
int keyframe__plain_path(const char *s)
{
	if (!*s || strlen(s) > 512)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    !strchr("/._+-", c))
			return 0;
	}
	return 1;
}

const char *keyframe_font(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(font_paths); i++)
		if (keyframe__plain_path(font_paths[i]) && access(font_paths[i], R_OK) == 0)
			return font_paths[i];
	return NULL;
}

/* ---- the look: colours, direction and pattern from the prompt's hash ---- */

struct look {
	unsigned colors[3]; /* 0xRRGGBB */
	int x0, y0, x1, y1; /* gradient line, inside the frame */
	int type;           /* gradients' type: 0 linear, 1 radial */
	unsigned seed;
	int box[3][4]; /* translucent boxes: x, y, w, h */
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* splitmix64: spreads one hash into as many independent draws as needed. */
static uint32_t next_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static double rand_in(uint64_t *state, double lo, double hi)
{
	return lo + (hi - lo) * (next_rand(state) / 4294967296.0);
}

static unsigned hsv_rgb(double h, double s, double v)
{
	h = fmod(h, 360.0) / 60.0;
	double c = v * s, x = c * (1 - fabs(fmod(h, 2.0) - 1)), m = v - c;
	double rgb[6][3] = {
		{ c, x, 0 }, { x, c, 0 }, { 0, c, x }, { 0, x, c }, { x, 0, c }, { c, 0, x },
	};
	const double *p = rgb[(int)h % 6];
	unsigned out = 0;
	for (int i = 0; i < 3; i++)
		out = out << 8 | (unsigned)lround((p[i] + m) * 255.0);
	return out;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* A dark, a light and a near-complementary colour keep white text readable
 * while two prompts almost never share both hue and direction. */
static void make_look(const char *prompt, int w, int h, struct look *lk)
{
	uint64_t st = fnv1a(prompt);
	double hue = rand_in(&st, 0, 360);

	lk->colors[0] = hsv_rgb(hue, rand_in(&st, 0.55, 0.85), rand_in(&st, 0.18, 0.32));
	lk->colors[1] = hsv_rgb(hue + rand_in(&st, 25, 70), rand_in(&st, 0.45, 0.75), rand_in(&st, 0.62, 0.85));
	lk->colors[2] = hsv_rgb(hue + rand_in(&st, 150, 210), rand_in(&st, 0.40, 0.70), rand_in(&st, 0.35, 0.55));

	double a = rand_in(&st, 0, 2 * M_PI), c = cos(a), s = sin(a);
	double r = fmin(fabs(c) > 1e-6 ? w / 2.0 / fabs(c) : 1e9, fabs(s) > 1e-6 ? h / 2.0 / fabs(s) : 1e9);
	/* gradients treats -1 as "random", so the line must stay inside. */
	lk->x0 = clampi((int)lround(w / 2.0 - c * r), 0, w - 1);
	lk->y0 = clampi((int)lround(h / 2.0 - s * r), 0, h - 1);
	lk->x1 = clampi((int)lround(w / 2.0 + c * r), 0, w - 1);
	lk->y1 = clampi((int)lround(h / 2.0 + s * r), 0, h - 1);
	lk->type = next_rand(&st) % 4 == 0;
	lk->seed = next_rand(&st);

	for (int i = 0; i < 3; i++) {
		int bw = (int)rand_in(&st, w * 0.15, w * 0.6) + 1;
		int bh = (int)rand_in(&st, h * 0.08, h * 0.35) + 1;
		lk->box[i][0] = (int)rand_in(&st, -bw / 2.0, w - bw / 2.0);
		lk->box[i][1] = (int)rand_in(&st, -bh / 2.0, h - bh / 2.0);
		lk->box[i][2] = bw;
		lk->box[i][3] = bh;
	}
}

/* ---- the filter graph ---- */

/* drawtext reads its text from a file so the prompt needs no escaping (the
 * graph parser and the option parser each strip a level of quoting). */
static int write_textfile(const char *text, char *path, size_t pathlen, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !keyframe__plain_path(dir) || strlen(dir) > 256)
		dir = "/tmp";
	snprintf(path, pathlen, "%s/reelforge-kf-XXXXXX", dir);
	int fd = mkostemp(path, O_CLOEXEC);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return errbuf_set(err, errlen, "keyframe: cannot create temp file in %s: %s", dir, strerror(e));
	}
	int ok = fputs(text, f) >= 0;
	if (fclose(f) != 0 || !ok) {
		unlink(path);
		return errbuf_set(err, errlen, "keyframe: cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

static char *graph_desc(const struct look *lk, int w, int h, const struct keyframe_text_layout *lo, const char *font,
			const char *textfile)
{
	char *bg = xasprintf("gradients=s=%dx%d:r=1:n=3:c0=0x%06x:c1=0x%06x:c2=0x%06x"
			     ":x0=%d:y0=%d:x1=%d:y1=%d:type=%d:seed=%u",
			     w, h, lk->colors[0], lk->colors[1], lk->colors[2], lk->x0, lk->y0, lk->x1, lk->y1,
			     lk->type, lk->seed);
	char *boxes = xasprintf("drawbox=x=%d:y=%d:w=%d:h=%d:t=fill:c=white@0.10,"
				"drawbox=x=%d:y=%d:w=%d:h=%d:t=fill:c=black@0.14,"
				"drawbox=x=%d:y=%d:w=%d:h=%d:t=fill:c=white@0.07",
				lk->box[0][0], lk->box[0][1], lk->box[0][2], lk->box[0][3], lk->box[1][0],
				lk->box[1][1], lk->box[1][2], lk->box[1][3], lk->box[2][0], lk->box[2][1],
				lk->box[2][2], lk->box[2][3]);
	char *text = textfile ? xasprintf(",drawtext=fontfile=%s:textfile=%s:expansion=none:fontsize=%d"
					  ":fontcolor=white:line_spacing=%d:box=1:boxcolor=black@0.38"
					  ":boxborderw=%d:shadowx=%d:shadowy=%d:shadowcolor=black@0.7"
					  ":x=(w-text_w)/2:y=(h-text_h)/2",
					  font, textfile, lo->fontsize, lo->line_spacing, lo->fontsize / 2,
					  lo->fontsize / 24 + 1, lo->fontsize / 24 + 1)
			      : xstrdup("");
	char *desc = xasprintf("%s,%s%s,scale=out_range=full:out_color_matrix=bt601"
			       ",format=yuv420p",
			       bg, boxes, text);
	free(bg);
	free(boxes);
	free(text);
	return desc;
}

static int av_fail(char *err, size_t errlen, const char *what, int ret)
{
	char buf[AV_ERROR_MAX_STRING_SIZE];
	av_strerror(ret, buf, sizeof(buf));
	return errbuf_set(err, errlen, "keyframe: %s: %s", what, buf);
}

int keyframe__graph_open(const char *desc, AVFilterGraph **out, AVFilterContext **sink, char *err, size_t errlen)
{
	AVFilterGraph *graph = avfilter_graph_alloc();
	AVFilterInOut *inputs = NULL;
	int ret;

	if (!graph)
		return errbuf_set(err, errlen, "keyframe: out of memory");
	/* The worker already runs several draws at once on its thread pool. */
	graph->nb_threads = 1;
	ret = avfilter_graph_create_filter(sink, avfilter_get_by_name("buffersink"), "out", NULL, NULL, graph);
	if (ret < 0)
		goto fail;
	inputs = avfilter_inout_alloc();
	if (!inputs || !(inputs->name = av_strdup("out"))) {
		ret = AVERROR(ENOMEM);
		goto fail;
	}
	inputs->filter_ctx = *sink;
	ret = avfilter_graph_parse_ptr(graph, desc, &inputs, NULL, NULL);
	if (ret < 0)
		goto fail;
	ret = avfilter_graph_config(graph, NULL);
	if (ret < 0)
		goto fail;
	avfilter_inout_free(&inputs);
	*out = graph;
	return 0;
fail:
	avfilter_inout_free(&inputs);
	avfilter_graph_free(&graph);
	return av_fail(err, errlen, "filter graph", ret);
}

/* Builds the graph, pulls its first frame into *out (caller frees). */
static int run_graph(const char *desc, AVFrame **out, char *err, size_t errlen)
{
	AVFilterGraph *graph;
	AVFilterContext *sink;
	AVFrame *frame;
	int ret;

	if (keyframe__graph_open(desc, &graph, &sink, err, errlen) < 0)
		return -1;
	frame = av_frame_alloc();
	ret = frame ? av_buffersink_get_frame(sink, frame) : AVERROR(ENOMEM);
	avfilter_graph_free(&graph);
	if (ret < 0) {
		av_frame_free(&frame);
		return av_fail(err, errlen, "filter graph", ret);
	}
	*out = frame;
	return 0;
}

static int encode_jpeg(AVFrame *frame, AVPacket *pkt, char *err, size_t errlen)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	AVCodecContext *ctx = codec ? avcodec_alloc_context3(codec) : NULL;
	int ret;

	if (!ctx)
		return errbuf_set(err, errlen, "keyframe: no mjpeg encoder in libavcodec");
	ctx->width = frame->width;
	ctx->height = frame->height;
	ctx->pix_fmt = frame->format;
	ctx->color_range = AVCOL_RANGE_JPEG; /* lets mjpeg take plain yuv420p */
	ctx->time_base = (AVRational){ 1, 1 };
	ctx->flags |= AV_CODEC_FLAG_QSCALE;
	ctx->global_quality = JPEG_QSCALE * FF_QP2LAMBDA;
	ctx->thread_count = 1;
	frame->quality = ctx->global_quality;
	frame->color_range = AVCOL_RANGE_JPEG;
	frame->pts = 0;
	ret = avcodec_open2(ctx, codec, NULL);
	if (ret >= 0)
		ret = avcodec_send_frame(ctx, frame);
	if (ret >= 0)
		ret = avcodec_send_frame(ctx, NULL);
	if (ret >= 0)
		ret = avcodec_receive_packet(ctx, pkt);
	avcodec_free_context(&ctx);
	return ret < 0 ? av_fail(err, errlen, "jpeg encoder", ret) : 0;
}

static int write_file(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wbe");
	if (!f)
		return errbuf_set(err, errlen, "keyframe: cannot open %s: %s", path, strerror(errno));
	int ok = fwrite(data, 1, len, f) == len;
	int e = errno;
	if (fclose(f) != 0 && ok) {
		ok = 0;
		e = errno;
	}
	if (!ok) {
		unlink(path);
		return errbuf_set(err, errlen, "keyframe: cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

/* The text is laid out and written to a temp file that drawtext reads while
 * the graph is configured; the file is gone before this returns. */
static int render_frame(const char *prompt, int w, int h, AVFrame **frame, char *err, size_t errlen)
{
	const char *font = keyframe_font();
	if (!font)
		return errbuf_set(err, errlen,
				  "keyframe: no CJK font found (install fonts-noto-cjk, "
				  "e.g. /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc)");

	struct look lk;
	struct keyframe_text_layout lo = { 0 };
	char textfile[320];
	int have_text = keyframe_text_lay_out(prompt, w, h, &lo), ret;

	make_look(prompt, w, h, &lk);
	if (have_text && write_textfile(lo.text, textfile, sizeof(textfile), err, errlen) < 0) {
		free(lo.text);
		return -1;
	}
	char *desc = graph_desc(&lk, w, h, &lo, font, have_text ? textfile : NULL);
	ret = run_graph(desc, frame, err, errlen);
	if (have_text)
		unlink(textfile);
	free(desc);
	free(lo.text);
	return ret;
}

int keyframe_draw(const char *prompt, int width, int height, const char *out_path, char *err, size_t errlen)
{
	if (!prompt || !out_path || !*out_path)
		return errbuf_set(err, errlen, "keyframe: prompt and output path are required");
	if (width < KEYFRAME_MIN_SIDE || width > KEYFRAME_MAX_SIDE || height < KEYFRAME_MIN_SIDE ||
	    height > KEYFRAME_MAX_SIDE)
		return errbuf_set(err, errlen, "keyframe: size %dx%d outside %d..%d", width, height, KEYFRAME_MIN_SIDE,
				  KEYFRAME_MAX_SIDE);

	AVFrame *frame = NULL;
	if (render_frame(prompt, width, height, &frame, err, errlen) < 0)
		return -1;
	AVPacket *pkt = av_packet_alloc();
	if (!pkt) {
		av_frame_free(&frame);
		return errbuf_set(err, errlen, "keyframe: out of memory");
	}
	int ret = encode_jpeg(frame, pkt, err, errlen);
	if (ret == 0)
		ret = write_file(out_path, pkt->data, (size_t)pkt->size, err, errlen);
	av_packet_free(&pkt);
	av_frame_free(&frame);
	return ret;
}
