/*
 * GET /s/{token} and its media. One statement resolves a token to its job's
 * output while checking everything that must hold (link live, job done and
 * its media kept); the page's statement counts the view in the same step.
 * Only the job's final assets are ever named, so nothing else of the owner's
 * is reachable through a token. The page's elements use paths, so it works
 * at whatever address it was reached; the preview tags need absolute URLs.
 */
#include "share_page.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "files_api.h"
#include "gateway.h"
#include "json.h"
#include "shares.h"
#include "banned.h"

#define LIVE_SHARE \
	"s.token_hash = $1 AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > now()) " \
	"AND j.id = s.job_id AND j.owner = s.owner AND j.status = 'done' AND j.expired_at IS NULL"
#define SHARE_COLS \
	"j.output::text, coalesce(j.storyboard->>'title', ''), " \
	"coalesce(j.storyboard->>'language', j.options->>'language', '')"

enum { C_OUTPUT, C_TITLE, C_LANGUAGE };

static const struct {
	const char *name, *field;
} assets[] = {
	{ "video.mp4", "video_key" },
	{ "poster.jpg", "poster_key" },
	{ "subtitles.vtt", "vtt_key" },
	{ "subtitles.srt", "srt_key" },
};

void share_page_escape(struct http_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': http_buf_adds(b, "&amp;"); break;
		case '<': http_buf_adds(b, "&lt;"); break;
		case '>': http_buf_adds(b, "&gt;"); break;
		case '"': http_buf_adds(b, "&quot;"); break;
		case '\'': http_buf_adds(b, "&#39;"); break;
		default: http_buf_add(b, s, 1);
		}
	}
}

/* <meta property|name="key" content="value"> */
static void meta(struct http_buf *b, const char *attr, const char *key, const char *value, const char *tail)
{
	http_buf_printf(b, "<meta %s=\"%s\" content=\"", attr, key);
	share_page_escape(b, value);
	if (tail)
		share_page_escape(b, tail);
	http_buf_adds(b, "\">\n");
}

static void head(struct http_buf *b, const struct share_view *v, const char *title)
{
	http_buf_adds(b, "<!doctype html>\n<html><head><meta charset=\"utf-8\">\n"
			 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			 "<meta name=\"robots\" content=\"noindex\">\n<title>");
	share_page_escape(b, title);
	http_buf_adds(b, "</title>\n");
	meta(b, "property", "og:type", "video.other", NULL);
	meta(b, "property", "og:title", title, NULL);
	meta(b, "property", "og:url", v->page_url, NULL);
	meta(b, "property", "og:video", v->base, "video.mp4");
	meta(b, "property", "og:video:type", "video/mp4", NULL);
	meta(b, "name", "twitter:title", title, NULL);
	if (v->poster) {
		meta(b, "property", "og:image", v->base, "poster.jpg");
		meta(b, "name", "twitter:card", "summary_large_image", NULL);
		meta(b, "name", "twitter:image", v->base, "poster.jpg");
	} else {
		meta(b, "name", "twitter:card", "summary", NULL);
	}
	http_buf_adds(b, "<style>body{margin:0;background:#111;color:#eee;font-family:sans-serif;text-align:center}"
			 "video{max-width:100%;max-height:90vh}h1{font-size:1.2em;font-weight:normal}</style>\n"
			 "</head>\n");
}

void share_page_html(struct http_buf *b, const struct share_view *v)
{
	const char *title = *v->title ? v->title : "A reelforge video";
	head(b, v, title);
	http_buf_adds(b, "<body>\n<video id=\"video\" controls playsinline preload=\"metadata\" src=\"");
	share_page_escape(b, v->path);
	http_buf_adds(b, "video.mp4\"");
	if (v->poster) {
		http_buf_adds(b, " poster=\"");
		share_page_escape(b, v->path);
		http_buf_adds(b, "poster.jpg\"");
	}
	http_buf_adds(b, ">\n");
	if (v->vtt) {
		http_buf_adds(b, "<track kind=\"subtitles\" label=\"Subtitles\" default src=\"");
		share_page_escape(b, v->path);
		http_buf_adds(b, "subtitles.vtt\"");
		if (*v->language) {
			http_buf_adds(b, " srclang=\"");
			share_page_escape(b, v->language);
			http_buf_adds(b, "\"");
		}
		http_buf_adds(b, ">\n");
	}
	http_buf_adds(b, "</video>\n<h1>");
	share_page_escape(b, title);
	http_buf_adds(b, "</h1>\n</body></html>\n");
}

/* The live share of the path's token: one row of SHARE_COLS, counting a view
 * when asked. NULL after answering 404 or 503. */
static PGresult *load_share(struct http_exchange *x, struct daemon *d, bool count)
{
	static const char select_sql[] = "SELECT " SHARE_COLS " FROM shares s, jobs j WHERE " LIVE_SHARE;
	static const char count_sql[] = "UPDATE shares s SET views = s.views + 1 FROM jobs j WHERE " LIVE_SHARE
					" RETURNING " SHARE_COLS;
	const char *token = http_request_of(x)->params[0];
	char hash[65];
	PGresult *r = NULL;

	if (shares_token_ok(token)) {
		shares_token_hash(token, hash);
		const char *params[] = { hash };
		r = db_exec(d->db, count ? count_sql : select_sql, 1, params);
		if (!r) {
			daemon_db_lost(d);
			http_problem(x, 503, "unavailable", "The database is not available", "try again shortly", NULL);
			return NULL;
		}
	}
	if (!r || PQntuples(r) != 1 || PQgetisnull(r, 0, C_OUTPUT)) {
		PQclear(r);
		http_problem(x, 404, "not-found", "No such share link",
			     "the link does not exist, was revoked, or has expired", NULL);
		return NULL;
	}
	return r;
}

static void security_headers(struct http_exchange *x)
{
	http_add_header(x, "X-Content-Type-Options", "nosniff");
	http_add_header(x, "Referrer-Policy", "no-referrer");
}

void share_page_get(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	PGresult *r = load_share(x, d, true);
	if (!r)
		return;
	cJSON *out = cJSON_Parse(PQgetvalue(r, 0, C_OUTPUT));
	char path[8 + SHARE_TOKEN_LEN];
	snprintf(path, sizeof(path), "/s/%s", http_request_of(x)->params[0]);
	char *page = shares_public_url(d->app, path), *base = xasprintf("%s/", page), *rel = xasprintf("%s/", path);
	const struct share_view v = {
		PQgetvalue(r, 0, C_TITLE),           PQgetvalue(r, 0, C_LANGUAGE),    page, base, rel,
		json_str(out, "poster_key") != NULL, json_str(out, "vtt_key") != NULL
	};
	struct http_buf b = { 0 };
	share_page_html(&b, &v);
	security_headers(x);
	http_add_header(x, "Content-Security-Policy",
			"default-src 'none'; media-src 'self'; img-src 'self'; style-src 'unsafe-inline'");
	http_add_header(x, "Cache-Control", "no-store");
	http_reply(x, 200, "text/html; charset=utf-8", b.p, b.len);
	http_buf_reset(&b, 0);
	free(rel);
	free(base);
	free(page);
	cJSON_Delete(out);
	PQclear(r);
}

void share_page_asset(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	const char *name = http_request_of(x)->params[1], *field = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(assets); i++)
		if (!strcmp(name, assets[i].name))
			field = assets[i].field;
	if (!field) {
		http_problem(x, 404, "not-found", "No such file",
			     "a share link serves video.mp4, poster.jpg and "
			     "subtitles.vtt/.srt",
			     NULL);
		return;
	}
	PGresult *r = load_share(x, d, false);
	if (!r)
		return;
	cJSON *out = cJSON_Parse(PQgetvalue(r, 0, C_OUTPUT));
	const char *key = json_str(out, field);
	if (key) {
		security_headers(x);
		files_api_send_file(x, d->app, key);
	} else {
		http_problem(x, 404, "not-found", "No such file", "this video has no such file", NULL);
	}
	cJSON_Delete(out);
	PQclear(r);
}
