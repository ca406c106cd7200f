/*
 * DESIGN: a download is a chain on the loop: check the URL's scheme and host
 * -> resolve it (uv_getaddrinfo) and refuse private addresses unless the
 * host is a configured vendor's -> stream the body into a temporary file in
 * the storage root with the resolved address pinned and the size capped as
 * the bytes arrive (memory stays flat whatever the size) -> check the status,
 * the content type and the file's first bytes -> probe it and storage_put it
 * under the caller's key, both on the thread pool (an S3 upload blocks for as
 * long as it takes) -> done on the loop. Each step fails into done with a
 * reason, removing the file; only network and storage failures are retryable.
 */
#include "fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base64.h"
#include "http_client.h"
#include "storage.h"
#include "str.h"
#include "banned.h"

struct fetch {
	struct receiver *rc;
	char *url, *host, *port, *stem;
	char *tmp_path; /* the download, a storage_temp file, until it is stored */
	bool video, vendor_host;
	fetch_done_fn done;
	void *arg;
	uv_getaddrinfo_t gai;
	uv_work_t work;
	struct fetch_result r;
};

static void finish(struct fetch *f)
{
	f->done(&f->r, f->arg);
	if (f->tmp_path) { /* not stored: the download failed after it was written */
		unlink(f->tmp_path);
		free(f->tmp_path);
	}
	free(f->url);
	free(f->stem);
	free(f->host);
	free(f->port);
	free(f);
}

static void refuse(struct fetch *f, bool retryable, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void refuse(struct fetch *f, bool retryable, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->r.error, sizeof(f->r.error), fmt, ap);
	va_end(ap);
	f->r.ok = -1;
	f->r.retryable = retryable;
	finish(f);
}

static bool v4_private(uint32_t a)
{
	return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 16) == 0xa9fe || (a >> 20) == 0xac1 ||
	       (a >> 16) == 0xc0a8 || (a >> 22) == (0x64400000u >> 22) || (a >> 28) >= 0xe || (a >> 8) == 0xc00000 ||
	       (a >> 17) == (0xc6120000u >> 17);
}

bool fetch_address_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_private(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family != AF_INET6)
		return true;
	const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(b, v4mapped, 12) == 0)
		return v4_private((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
	bool zero_start = true;
	for (int i = 0; i < 15; i++)
		zero_start &= b[i] == 0;
	return zero_start /* :: and ::1 */ || (b[0] & 0xfe) == 0xfc /* ULA */ ||
	       (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff;
}

/* On the thread pool: the probe, then the upload or rename into place. */
static void probe_and_store(uv_work_t *req)
{
	struct fetch *f = req->data;
	const struct vendors *v = f->rc->v;
	f->r.ok = probe_media(f->tmp_path, f->video, v->media_max_side, v->media_max_s * 1000, &f->r.info, f->r.error,
			      sizeof(f->r.error));
	if (f->r.ok < 0)
		return;
	snprintf(f->r.key, sizeof(f->r.key), "%s.%s", f->stem, f->r.info.ext);
	if (storage_put(f->rc->d->storage, f->r.key, f->tmp_path, f->r.error, sizeof(f->r.error)) < 0) {
		f->r.ok = -1;
		f->r.unstored = f->r.retryable = true;
		return;
	}
	free(f->tmp_path);
	f->tmp_path = NULL;
}

static void on_stored(uv_work_t *req, int status)
{
	struct fetch *f = req->data;
	(void)status;
	if (f->r.ok < 0 && !f->r.unstored)
		refuse(f, false, "the vendor's output was refused: %.400s", f->r.error);
	else
		finish(f);
}

static void start_check(struct fetch *f)
{
	f->work.data = f;
	uv_queue_work(f->rc->d->loop, &f->work, probe_and_store, on_stored);
}

/* Writes decoded bytes (a data: URI's) to a temporary file and probes it. */
static void keep(struct fetch *f, const char *data, size_t len)
{
	f->tmp_path = storage_temp(f->rc->d->storage, ".part");
	FILE *out = fopen(f->tmp_path, "wb");
	bool ok = out && fwrite(data, 1, len, out) == len;
	if (out && fclose(out) != 0)
		ok = false;
	if (!ok) {
		refuse(f, true, "the vendor's output could not be written to storage");
		return;
	}
	start_check(f);
}

/* The file's first bytes name a format the probe accepts: cheaper than
 * opening a demuxer, and a page or a script never reaches libavformat. */
static bool magic_ok(const char *path, bool video)
{
	unsigned char b[12] = { 0 };
	FILE *in = fopen(path, "rb");
	size_t n = in ? fread(b, 1, sizeof(b), in) : 0;
	if (in)
		fclose(in);
	if (n < sizeof(b))
		return false;
	if (video)
		return memcmp(b + 4, "ftyp", 4) == 0 /* MP4, MOV */ || memcmp(b, "\x1a\x45\xdf\xa3", 4) == 0 /* WebM */;
	return memcmp(b, "\x89PNG", 4) == 0 || memcmp(b, "\xff\xd8\xff", 3) == 0 ||
	       (memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0);
}

static bool media_type(const char *ctype, bool video)
{
	if (!ctype)
		return false;
	if (strncasecmp(ctype, "application/octet-stream", 24) == 0)
		return true; /* some CDNs send it for everything; the probe decides */
	return strncasecmp(ctype, video ? "video/" : "image/", 6) == 0;
}

static void on_download(const struct http_client_response *r, void *arg)
{
	struct fetch *f = arg;
	const char *ctype = http_client_header(r, "content-type");
	if (r->outcome == HTTP_CLIENT_TOO_LARGE)
		refuse(f, false, "the vendor's output is larger than %ld MB (REEL_DOWNLOAD_MAX_MB)",
		       f->rc->v->download_max_mb);
	else if (r->outcome != HTTP_CLIENT_DONE)
		refuse(f, true, "the vendor's output could not be downloaded: %s", r->error);
	else if (r->status != 200)
		refuse(f, retry_status_transient(r->status), "the vendor's output answered HTTP %d", r->status);
	else if (!media_type(ctype, f->video))
		refuse(f, false, "the vendor's output is not %s (Content-Type: %.80s)",
		       f->video ? "a video" : "an image", ctype ? ctype : "none");
	else if (!magic_ok(f->tmp_path, f->video))
		refuse(f, false, "the vendor's output was refused: its first bytes are not those of %s",
		       f->video ? "an MP4 or WebM video" : "a PNG, JPEG or WebP image");
	else
		start_check(f);
}

static void download(struct fetch *f, const char *pinned)
{
	char *resolve = pinned ? xasprintf("%s:%s:%s", f->host, f->port, pinned) : NULL;
	f->tmp_path = storage_temp(f->rc->d->storage, ".part");
	const struct http_client_request rq = { .url = f->url,
						.timeout_ms = 300000,
						.max_response = (size_t)f->rc->v->download_max_mb << 20,
						.resolve = resolve,
						.body_path = f->tmp_path };
	bool started = http_client_start(f->rc->http, &rq, on_download, f) != NULL;
	free(resolve);
	if (!started)
		refuse(f, true, "the vendor's output could not be downloaded: the HTTP client refused the request");
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct fetch *f = req->data;
	char addr[INET6_ADDRSTRLEN + 2] = "";
	if (status < 0 || !res) {
		refuse(f, true, "the vendor's output host %s could not be resolved", f->host);
		return;
	}
	for (struct addrinfo *a = res; a; a = a->ai_next)
		if (fetch_address_private(a->ai_addr) && !f->rc->v->allow_private && !f->vendor_host) {
			uv_freeaddrinfo(res);
			refuse(f, false,
			       "the vendor's output is on a private address (%s); set REEL_ALLOW_PRIVATE_WEBHOOKS=1 "
			       "to allow it",
			       f->host);
			return;
		}
	if (res->ai_family == AF_INET6) {
		addr[0] = '[';
		uv_ip6_name((const struct sockaddr_in6 *)res->ai_addr, addr + 1, sizeof(addr) - 2);
		str_copy(addr + strlen(addr), "]", 2);
	} else {
		uv_ip4_name((const struct sockaddr_in *)res->ai_addr, addr, sizeof(addr));
	}
	uv_freeaddrinfo(res);
	download(f, addr);
}

/* The host of url, or NULL; the caller frees. */
static char *host_of(const char *url, char **port)
{
	CURLU *u = curl_url();
	char *host = NULL, *p = NULL, *out = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		out = xstrdup(host);
		if (port)
			*port = xstrdup(p);
	}
	curl_free(host);
	curl_free(p);
	curl_url_cleanup(u);
	return out;
}

static bool is_vendor_host(const struct vendors *v, const char *host)
{
	const char *const urls[] = { v->replicate_base_url, v->fal_base_url, v->fal_jwks_url, v->comfyui_url };
	bool hit = false;
	for (size_t i = 0; i < ARRAY_SIZE(urls) && !hit; i++) {
		char *h = urls[i] ? host_of(urls[i], NULL) : NULL;
		hit = h && strcasecmp(h, host) == 0;
		free(h);
	}
	return hit;
}

static void from_data_uri(struct fetch *f)
{
	const char *comma = strchr(f->url, ','), *semi = strstr(f->url, ";base64,");
	size_t len = 0;
	char ctype[64];
	if (!comma || !semi || semi + 7 != comma) {
		refuse(f, false, "the vendor's output is a data: URI without base64 content");
		return;
	}
	snprintf(ctype, sizeof(ctype), "%.*s", (int)(semi - f->url - 5), f->url + 5);
	if (!media_type(ctype, f->video)) {
		refuse(f, false, "the vendor's output is not %s (data: %s)", f->video ? "a video" : "an image", ctype);
		return;
	}
	if (strlen(comma + 1) / 4 * 3 > (size_t)f->rc->v->download_max_mb << 20) {
		refuse(f, false, "the vendor's output is larger than %ld MB (REEL_DOWNLOAD_MAX_MB)",
		       f->rc->v->download_max_mb);
		return;
	}
	unsigned char *bytes = base64_decode(comma + 1, strlen(comma + 1), false, &len);
	if (!bytes) {
		refuse(f, false, "the vendor's output is a data: URI with malformed base64");
		return;
	}
	keep(f, (const char *)bytes, len);
	free(bytes);
}

void fetch_start(struct receiver *rc, const char *url, bool video, const char *stem, fetch_done_fn done, void *arg)
{
	struct fetch *f = xcalloc(1, sizeof(*f));
	*f = (struct fetch){
		.rc = rc, .url = xstrdup(url), .stem = xstrdup(stem), .video = video, .done = done, .arg = arg
	};
	if (strncmp(url, "data:", 5) == 0) {
		from_data_uri(f);
		return;
	}
	if (strncasecmp(url, "https://", 8) != 0 && strncasecmp(url, "http://", 7) != 0) {
		refuse(f, false, "the vendor's output is not an http(s) or data: URL");
		return;
	}
	if (!(f->host = host_of(url, &f->port))) {
		refuse(f, false, "the vendor's output URL is malformed");
		return;
	}
	f->vendor_host = is_vendor_host(rc->v, f->host);
	f->gai.data = f;
	const struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	if (uv_getaddrinfo(rc->d->loop, &f->gai, on_resolved, f->host, f->port, &hints) < 0)
		refuse(f, true, "the vendor's output host %s could not be resolved", f->host);
}
