/*
 * The public side of share links: GET /s/{token}, a small HTML page with the
 * video, and GET /s/{token}/{asset}, its media. No credentials; a revoked or
 * expired link, or a job whose media expired, is 404.
 */
#ifndef REEL_SHARE_PAGE_H
#define REEL_SHARE_PAGE_H

#include <stdbool.h>

#include "http_buf.h"
#include "http_server.h"

/* GET /s/{token}: the page (counts a view). */
void share_page_get(struct http_exchange *x, void *arg);
/* GET /s/{token}/{asset}: video.mp4 (byte ranges), poster.jpg, subtitles.vtt or subtitles.srt. */
void share_page_asset(struct http_exchange *x, void *arg);

/* What the page shows; every text is escaped when written. */
struct share_view {
	const char *title;    /* the storyboard's title, or "" */
	const char *language; /* the subtitles' language tag, or "" */
	const char *page_url; /* absolute URL of the page */
	const char *base;     /* absolute URL the media paths hang off ("<page_url>/"), for the tags */
	const char *path;     /* the same as a path ("/s/<token>/"), for the page's own elements */
	bool poster, vtt;     /* which assets the job has */
};

/* Appends the page's HTML to b. */
void share_page_html(struct http_buf *b, const struct share_view *v);
/* Appends s to b with &, <, >, " and ' as character references. */
void share_page_escape(struct http_buf *b, const char *s);

#endif
