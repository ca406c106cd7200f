/*
 * The final MP4: picture segments joined by copying their H.264 packets
 * (re-timed onto the output's frame grid, never re-encoded) and the mixed
 * soundtrack encoded to AAC alongside, interleaved as the picture advances,
 * with the moov box moved to the front (+faststart).
 */
#include "assemble_join.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include <string.h>
#include <unistd.h>

#include "assemble_audio.h"
#include "errbuf.h"
#include "banned.h"

struct join {
	const struct assemble_spec *sp;
	AVFormatContext *oc;
	AVStream *vst;
	struct assemble__aac *aac;
	const AVCodecParameters *first; /* the first segment's codec setup, which all must share */
	AVFormatContext *in;
	int file_open;
};

static int open_output(struct join *j, const AVCodecParameters *par, char *err, size_t errlen)
{
	const char *path = j->sp->out_path;
	AVDictionary *opts = NULL;
	int ret = avformat_alloc_output_context2(&j->oc, NULL, "mp4", path);

	if (ret < 0)
		return errbuf_set(err, errlen, "cannot set up MP4 output: %s", av_err2str(ret));
	j->vst = avformat_new_stream(j->oc, NULL);
	if (!j->vst || avcodec_parameters_copy(j->vst->codecpar, par) < 0)
		return errbuf_set(err, errlen, "out of memory");
	j->vst->codecpar->codec_tag = 0;
	j->vst->time_base = (AVRational){ 1, j->sp->fps };
	j->vst->avg_frame_rate = (AVRational){ j->sp->fps, 1 };
	if (!(j->aac = assemble__aac_new(j->oc, err, errlen)))
		return -1;
	if ((ret = avio_open(&j->oc->pb, path, AVIO_FLAG_WRITE)) < 0)
		return errbuf_set(err, errlen, "cannot create %s: %s", path, av_err2str(ret));
	j->file_open = 1;
	/* moov up front: players start before the whole file has arrived. */
	av_dict_set(&opts, "movflags", "+faststart", 0);
	ret = avformat_write_header(j->oc, &opts);
	av_dict_free(&opts);
	if (ret < 0)
		return errbuf_set(err, errlen, "cannot write %s: %s", path, av_err2str(ret));
	return 0;
}

static int same_setup(const AVCodecParameters *a, const AVCodecParameters *b)
{
	return a->codec_id == b->codec_id && a->width == b->width && a->height == b->height &&
	       a->extradata_size == b->extradata_size &&
	       (a->extradata_size == 0 || memcmp(a->extradata, b->extradata, (size_t)a->extradata_size) == 0);
}

static int open_segment(struct join *j, const char *path, char *err, size_t errlen)
{
	int ret = avformat_open_input(&j->in, path, NULL, NULL);

	if (ret >= 0)
		ret = avformat_find_stream_info(j->in, NULL);
	if (ret < 0)
		return errbuf_set(err, errlen, "segment %s: cannot read: %s", path, av_err2str(ret));
	if (j->in->nb_streams != 1 || j->in->streams[0]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
		return errbuf_set(err, errlen, "segment %s: not a picture segment", path);
	if (!j->oc && open_output(j, j->in->streams[0]->codecpar, err, errlen) < 0)
		return -1;
	if (!j->first)
		j->first = j->vst->codecpar;
	if (!same_setup(j->first, j->in->streams[0]->codecpar))
		return errbuf_set(err, errlen, "segment %s: encoded with other settings than the first", path);
	return 0;
}

/* Copies one segment's packets, shifted to start at output frame `from`. */
static int copy_segment(struct join *j, const struct assemble__pcm *pcm, int64_t from, int64_t count,
			void (*tick)(void *arg, int64_t frames), void *arg, char *err, size_t errlen)
{
	const AVRational grid = { 1, j->sp->fps };
	AVRational tb = j->in->streams[0]->time_base;
	AVPacket *pkt = av_packet_alloc();
	int64_t seen = 0;
	int ret = pkt ? 0 : AVERROR(ENOMEM);

	while (ret >= 0 && (ret = av_read_frame(j->in, pkt)) >= 0) {
		if (j->sp->cancel && atomic_load(j->sp->cancel)) {
			av_packet_free(&pkt);
			return errbuf_set(err, errlen, "canceled");
		}
		av_packet_rescale_ts(pkt, tb, grid);
		pkt->pts += from;
		pkt->dts += from;
		pkt->duration = 1;
		pkt->stream_index = j->vst->index;
		/* Sound half a second ahead of the picture keeps the muxer's queue short. */
		if (assemble__aac_write(j->aac, pcm, (pkt->dts + j->sp->fps / 2) * ASSEMBLE__RATE / j->sp->fps, err,
					errlen) < 0) {
			av_packet_free(&pkt);
			return -1;
		}
		av_packet_rescale_ts(pkt, grid, j->vst->time_base);
		ret = av_interleaved_write_frame(j->oc, pkt);
		seen++;
		if (tick && seen % 25 == 0)
			tick(arg, 25);
	}
	av_packet_free(&pkt);
	if (ret != AVERROR_EOF)
		return errbuf_set(err, errlen, "joining segments failed: %s", av_err2str(ret));
	if (seen != count)
		return errbuf_set(err, errlen, "a cached segment holds %lld frames, not %lld", (long long)seen,
				  (long long)count);
	return 0;
}

int assemble__join(const struct assemble_spec *sp, const char *const *paths, const int64_t *from, const int64_t *to,
		   size_t n, const struct assemble__pcm *pcm, void (*tick)(void *arg, int64_t frames), void *arg,
		   char *err, size_t errlen)
{
	struct join j = { .sp = sp };
	int rc = 0, ret;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = open_segment(&j, paths[i], err, errlen);
		if (rc == 0)
			rc = copy_segment(&j, pcm, from[i], to[i] - from[i], tick, arg, err, errlen);
		avformat_close_input(&j.in);
	}
	if (rc == 0 && !j.oc)
		rc = errbuf_set(err, errlen, "no picture to join");
	if (rc == 0)
		rc = assemble__aac_finish(j.aac, pcm, err, errlen);
	if (rc == 0 && (ret = av_write_trailer(j.oc)) < 0)
		rc = errbuf_set(err, errlen, "cannot finish %s: %s", sp->out_path, av_err2str(ret));
	if (j.file_open)
		avio_closep(&j.oc->pb);
	if (rc < 0 && j.file_open)
		unlink(sp->out_path);
	assemble__aac_free(j.aac);
	avformat_free_context(j.oc);
	return rc;
}
