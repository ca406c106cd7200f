/*
 * libavformat, restricted: the whitelist of demuxers and protocols is set
 * before the file is opened, so a crafted file cannot reach for a URL, a
 * playlist entry or another local path.
 */
#include "probe.h"

#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"
#include "banned.h"

#define IMAGE_FORMATS "png_pipe,jpeg_pipe,webp_pipe"
#define VIDEO_FORMATS "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"

static void name_it(const AVFormatContext *fc, struct probe_info *info)
{
	const char *n = fc->iformat->name;
	if (strstr(n, "png"))
		info->ext = "png", info->mime = "image/png";
	else if (strstr(n, "jpeg"))
		info->ext = "jpg", info->mime = "image/jpeg";
	else if (strstr(n, "webp"))
		info->ext = "webp", info->mime = "image/webp";
	else if (strstr(n, "matroska"))
		info->ext = "webm", info->mime = "video/webm";
	else
		info->ext = "mp4", info->mime = "video/mp4";
}

static int check(AVFormatContext *fc, bool video, long max_side, long max_ms, struct probe_info *info, char *err,
		 size_t errlen)
{
	int s = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (s < 0)
		return errbuf_set(err, errlen, "the file holds no picture");
	const AVCodecParameters *par = fc->streams[s]->codecpar;
	info->width = par->width;
	info->height = par->height;
	info->video = video;
	name_it(fc, info);
	if (info->width <= 0 || info->height <= 0)
		return errbuf_set(err, errlen, "the picture has no size");
	if (info->width > max_side || info->height > max_side)
		return errbuf_set(err, errlen, "the picture is %dx%d, larger than %ld pixels a side", info->width,
				  info->height, max_side);
	if (!video)
		return 0;
	info->duration_ms = fc->duration > 0 ? (long)(fc->duration / (AV_TIME_BASE / 1000)) : 0;
	if (info->duration_ms <= 0)
		return errbuf_set(err, errlen, "the clip has no duration");
	if (info->duration_ms > max_ms)
		return errbuf_set(err, errlen, "the clip lasts %ld ms, longer than %ld ms", info->duration_ms, max_ms);
	return 0;
}

int probe_media(const char *path, bool video, long max_side, long max_ms, struct probe_info *info, char *err,
		size_t errlen)
{
	AVFormatContext *fc = avformat_alloc_context();
	AVDictionary *opts = NULL;
	char url[4200];
	int rc;
	*info = (struct probe_info){ 0 };
	fc->format_whitelist = av_strdup(video ? VIDEO_FORMATS : IMAGE_FORMATS);
	fc->protocol_whitelist = av_strdup("file");
	av_dict_set(&opts, "protocol_whitelist", "file", 0);
	snprintf(url, sizeof(url), "file:%s", path);
	if ((rc = avformat_open_input(&fc, url, NULL, &opts)) < 0) {
		av_dict_free(&opts);
		return errbuf_set(err, errlen, "not a %s the renderer accepts (%s)",
				  video ? "video (MP4, WebM)" : "picture (PNG, JPEG, WebP)", av_err2str(rc));
	}
	av_dict_free(&opts);
	if ((rc = avformat_find_stream_info(fc, NULL)) < 0)
		rc = errbuf_set(err, errlen, "the file cannot be read (%s)", av_err2str(rc));
	else
		rc = check(fc, video, max_side, max_ms, info, err, errlen);
	avformat_close_input(&fc);
	return rc;
}
