/*
 * DESIGN: S3 requests are blocking libcurl easy transfers, made only from
 * the libuv thread pool or at the edges of a task (the callers' rule, as for
 * file reads). libcurl signs each with CURLOPT_AWS_SIGV4 and the payload is
 * sent as UNSIGNED-PAYLOAD, so an upload streams from its file and is never
 * hashed or held whole. Uploads above the multipart size go in parts, each
 * retried on its own; an upload that fails is aborted so no parts linger.
 * Downloads stream into a file the caller names.
 */
#include "s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "errbuf.h"
#include "banned.h"

#define PART_TRIES 3
#define PART_MIN_MB 5 /* S3's smallest part but the last */

struct s3 {
	char *base, *public_base; /* scheme://host[:port] requests and links go to */
	char *root;               /* the path before a key: "/bucket/prefix/" or "/prefix/" */
	char *region, *access_key, *secret_key;
	char *sigv4; /* CURLOPT_AWS_SIGV4's "aws:amz:REGION:s3" */
	off_t part_bytes;
};

/* One request's answer. */
struct reply {
	long status;
	char body[4096]; /* the start of the body (XML answers are small) */
	size_t len;
	char etag[128];
	long long total; /* the object's size from Content-Range, or -1 */
	FILE *sink;      /* when set, the body goes here instead */
	char *buf;       /* when set, up to want bytes of the body go here */
	size_t want;
	const char *post; /* a POST's XML body, or NULL for none (owned by the caller) */
};

static const char *pick(const char *ours, const char *aws)
{
	if (ours && *ours)
		return ours;
	const char *v = getenv(aws);
	return v && *v ? v : NULL;
}

/* scheme://host[:port] for bucket on endpoint, virtual-hosted unless path_style. */
static char *base_for(const char *endpoint, const char *bucket, bool path_style)
{
	const char *sep = strstr(endpoint, "://");
	size_t n = strlen(endpoint);
	while (n > 0 && endpoint[n - 1] == '/')
		n--;
	if (path_style || !sep)
		return xstrndup(endpoint, n);
	return xasprintf("%.*s%s.%.*s", (int)(sep + 3 - endpoint), endpoint, bucket,
			 (int)(n - (size_t)(sep + 3 - endpoint)), sep + 3);
}

struct s3 *s3_new(const char *bucket, const char *prefix, const struct s3_config *cfg, char *err, size_t errlen)
{
	const char *region = pick(cfg->region, "AWS_REGION"), *endpoint = pick(cfg->endpoint, "AWS_ENDPOINT_URL_S3");
	const char *id = pick(cfg->access_key, "AWS_ACCESS_KEY_ID"),
		   *secret = pick(cfg->secret_key, "AWS_SECRET_ACCESS_KEY");
	struct s3 *s;

	if (!*bucket) {
		errbuf_set(err, errlen, "REEL_STORAGE_URL: s3://BUCKET[/PREFIX] needs a bucket");
		return NULL;
	}
	if (!id || !secret) {
		errbuf_set(err, errlen,
			   "s3 storage needs REEL_S3_ACCESS_KEY_ID and REEL_S3_SECRET_ACCESS_KEY "
			   "(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errbuf_set(err, errlen, "libcurl cannot start");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->region = xstrdup(region ? region : "us-east-1");
	char *def = xasprintf("https://s3.%s.amazonaws.com", s->region);
	s->base = base_for(endpoint ? endpoint : def, bucket, cfg->path_style);
	s->public_base = base_for(cfg->public_endpoint && *cfg->public_endpoint ? cfg->public_endpoint
				  : endpoint                                    ? endpoint
										: def,
				  bucket, cfg->path_style);
	free(def);
	s->root = xasprintf("%s%s%s%s/", cfg->path_style ? "/" : "", cfg->path_style ? bucket : "", *prefix ? "/" : "",
			    prefix);
	if (!cfg->path_style && !*prefix)
		s->root[0] = '/';
	s->access_key = xstrdup(id);
	s->secret_key = xstrdup(secret);
	s->sigv4 = xasprintf("aws:amz:%s:s3", s->region);
	s->part_bytes = (off_t)(cfg->multipart_mb < PART_MIN_MB ? PART_MIN_MB : cfg->multipart_mb) << 20;
	return s;
}

void s3_free(struct s3 *s)
{
	if (!s)
		return;
	free(s->base);
	free(s->public_base);
	free(s->root);
	free(s->region);
	free(s->access_key);
	free(s->secret_key);
	free(s->sigv4);
	free(s);
}

/* The absolute path of key: root + key (keys are storage_key_ok, so they need no escaping but spaces). */
static char *path_of(const struct s3 *s, const char *key)
{
	return xasprintf("%s%s", s->root, key);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;
	if (r->sink)
		return fwrite(data, 1, len, r->sink);
	if (r->buf) {
		size_t take = len < r->want - r->len ? len : r->want - r->len;
		memcpy(r->buf + r->len, data, take);
		r->len += take;
		return len;
	}
	size_t take = len < sizeof(r->body) - 1 - r->len ? len : sizeof(r->body) - 1 - r->len;
	memcpy(r->body + r->len, data, take);
	r->len += take;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;
	if (len > 5 && !strncasecmp(data, "etag:", 5)) {
		const char *v = data + 5;
		size_t vl = len - 5;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		snprintf(r->etag, sizeof(r->etag), "%.*s", (int)vl, v);
	} else if (len > 14 && !strncasecmp(data, "content-range:", 14)) {
		const char *slash = memchr(data, '/', len);
		if (slash && slash[1] >= '0' && slash[1] <= '9')
			r->total = strtoll(slash + 1, NULL, 10);
	}
	return len;
}

/* Sends one signed request: method to key's path with query ("" or "a=b&c"), an optional
 * upload of len bytes of in from its current position, and an optional Range. A POST
 * sends r->post. */
static int request(const struct s3 *s, const char *method, const char *key, const char *query, FILE *in, off_t len,
		   const char *range, struct reply *r, char *err, size_t errlen)
{
	char *path = path_of(s, key), *url = xasprintf("%s%s%s%s", s->base, path, *query ? "?" : "", query);
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	CURLcode rc;

	if (!c)
		abort();
	if (range) {
		char *hr = xasprintf("Range: %s", range);
		h = curl_slist_append(h, hr);
		free(hr);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, s->access_key);
	curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret_key);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (in) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READDATA, in);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->post ? strlen(r->post) : 0));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->post ? r->post : "");
		h = curl_slist_append(h, "Content-Type: application/xml");
	}
	if (strcmp(method, "HEAD") && strcmp(method, "GET") && strcmp(method, "POST"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	r->len = 0;
	r->total = -1;
	r->body[0] = '\0';
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(url);
	free(path);
	if (rc != CURLE_OK)
		return errbuf_set(err, errlen, "%s %s: %s", method, key, curl_easy_strerror(rc));
	return 0;
}

/* 0 on a 2xx; else -1 naming the status and S3's error code. */
static int expect_ok(const struct reply *r, const char *what, const char *key, char *err, size_t errlen)
{
	if (r->status >= 200 && r->status < 300)
		return 0;
	const char *code = r->sink || r->buf ? NULL : strstr(r->body, "<Code>");
	return errbuf_set(err, errlen, "%s %s: HTTP %ld%s%.*s", what, key, r->status, code ? " " : "",
			  code ? (int)strcspn(code + 6, "<") : 0, code ? code + 6 : "");
}

static int put_whole(const struct s3 *s, const char *key, FILE *in, off_t size, char *err, size_t errlen)
{
	struct reply r = { 0 };
	if (request(s, "PUT", key, "", in, size, NULL, &r, err, errlen) < 0)
		return -1;
	return expect_ok(&r, "PUT", key, err, errlen);
}

/* The text of <tag> in xml, into out. */
static int xml_text(const char *xml, const char *tag, char *out, size_t outlen)
{
	char open[64];
	snprintf(open, sizeof(open), "<%s>", tag);
	const char *p = strstr(xml, open);
	if (!p)
		return -1;
	p += strlen(open);
	size_t n = strcspn(p, "<");
	if (n == 0 || n >= outlen)
		return -1;
	snprintf(out, outlen, "%.*s", (int)n, p);
	return 0;
}

/* Uploads one part, retried on its own; its ETag goes to etag. */
static int put_part(const struct s3 *s, const char *key, const char *upload_id, int num, FILE *in, off_t first,
		    off_t len, char *etag, size_t etaglen, char *err, size_t errlen)
{
	char *query = xasprintf("partNumber=%d&uploadId=%s", num, upload_id);
	int rc = -1;
	for (int i = 0; i < PART_TRIES && rc < 0; i++) {
		struct reply r = { 0 };
		if (fseeko(in, first, SEEK_SET) < 0) {
			errbuf_set(err, errlen, "cannot seek the upload: %s", strerror(errno));
			break;
		}
		if (request(s, "PUT", key, query, in, len, NULL, &r, err, errlen) == 0 &&
		    expect_ok(&r, "PUT part", key, err, errlen) == 0 && r.etag[0]) {
			snprintf(etag, etaglen, "%s", r.etag);
			rc = 0;
		}
	}
	free(query);
	return rc;
}

static void abort_upload(const struct s3 *s, const char *key, const char *upload_id)
{
	char *query = xasprintf("uploadId=%s", upload_id), err[256];
	struct reply r = { 0 };
	(void)request(s, "DELETE", key, query, NULL, 0, NULL, &r, err, sizeof(err));
	free(query);
}

/* Sends the parts and the closing list (built in a growing buffer: about 80 bytes a part). */
static int put_parts(const struct s3 *s, const char *key, const char *upload_id, FILE *in, off_t size, char *err,
		     size_t errlen)
{
	size_t cap = 256, used = 0;
	char *list = xmalloc(cap), etag[128];
	int rc = 0, num = 1;

	used += (size_t)snprintf(list, cap, "<CompleteMultipartUpload>");
	for (off_t first = 0; first < size && rc == 0; first += s->part_bytes, num++) {
		off_t len = size - first < s->part_bytes ? size - first : s->part_bytes;
		rc = put_part(s, key, upload_id, num, in, first, len, etag, sizeof(etag), err, errlen);
		if (rc == 0) {
			char *item = xasprintf("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", num, etag);
			size_t n = strlen(item);
			if (used + n + 64 > cap)
				list = xrealloc(list, cap = 2 * (used + n + 64));
			memcpy(list + used, item, n + 1);
			used += n;
			free(item);
		}
	}
	snprintf(list + used, cap - used, "</CompleteMultipartUpload>");
	if (rc == 0) {
		struct reply *r = xcalloc(1, sizeof(*r));
		char *query = xasprintf("uploadId=%s", upload_id);
		r->post = list;
		rc = request(s, "POST", key, query, NULL, 0, NULL, r, err, errlen);
		/* A completion can fail inside a 200 answer: the body then holds <Error>. */
		if (rc == 0 && (expect_ok(r, "complete", key, err, errlen) < 0 || strstr(r->body, "<Error>")))
			rc = err[0] ? -1 : errbuf_set(err, errlen, "complete %s: %s", key, r->body);
		free(query);
		free(r);
	}
	free(list);
	return rc;
}

static int put_multipart(const struct s3 *s, const char *key, FILE *in, off_t size, char *err, size_t errlen)
{
	struct reply r = { 0 };
	char upload_id[1024];

	/* "uploads=", not "uploads": libcurl before 8 signs the query as written, and
	 * SigV4's canonical form of a bare name carries the "=" (servers answer 403). */
	if (request(s, "POST", key, "uploads=", NULL, 0, NULL, &r, err, errlen) < 0 ||
	    expect_ok(&r, "start upload", key, err, errlen) < 0)
		return -1;
	if (xml_text(r.body, "UploadId", upload_id, sizeof(upload_id)) < 0)
		return errbuf_set(err, errlen, "start upload %s: no UploadId in the answer", key);
	if (put_parts(s, key, upload_id, in, size, err, errlen) == 0)
		return 0;
	abort_upload(s, key, upload_id);
	return -1;
}

int s3_put_file(const struct s3 *s, const char *key, const char *path, char *err, size_t errlen)
{
	FILE *in = fopen(path, "rb");
	struct stat sb;
	int rc;

	if (!in)
		return errbuf_set(err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fileno(in), &sb) < 0) {
		fclose(in);
		return errbuf_set(err, errlen, "cannot stat %s: %s", path, strerror(errno));
	}
	if (sb.st_size > s->part_bytes)
		rc = put_multipart(s, key, in, sb.st_size, err, errlen);
	else
		rc = put_whole(s, key, in, sb.st_size, err, errlen);
	fclose(in);
	return rc;
}

int s3_get_file(const struct s3 *s, const char *key, const char *path, char *err, size_t errlen)
{
	struct reply r = { 0 };
	int rc;

	if (!(r.sink = fopen(path, "wb")))
		return errbuf_set(err, errlen, "cannot create %s: %s", path, strerror(errno));
	rc = request(s, "GET", key, "", NULL, 0, NULL, &r, err, errlen);
	if (fclose(r.sink) != 0 && rc == 0)
		rc = errbuf_set(err, errlen, "cannot write %s: %s", path, strerror(errno));
	if (rc == 0)
		rc = expect_ok(&r, "GET", key, err, errlen);
	return rc;
}

int s3_size(const struct s3 *s, const char *key, off_t *size, char *err, size_t errlen)
{
	struct reply r = { 0 };
	char range[] = "bytes=0-0", byte;
	/* A one-byte GET rather than HEAD: its Content-Range carries the size. */
	r.buf = &byte;
	r.want = 1;
	if (request(s, "GET", key, "", NULL, 0, range, &r, err, errlen) < 0)
		return -1;
	if (r.status == 404)
		return 1;
	if (r.status == 416) { /* an empty object */
		*size = 0;
		return 0;
	}
	if (r.status == 206 && r.total >= 0) {
		*size = (off_t)r.total;
		return 0;
	}
	if (r.status == 200) { /* a server that ignores Range: the body was cut at one byte */
		return errbuf_set(err, errlen, "GET %s: the server ignored the Range", key);
	}
	return errbuf_set(err, errlen, "GET %s: HTTP %ld", key, r.status);
}

int s3_delete(const struct s3 *s, const char *key, char *err, size_t errlen)
{
	struct reply r = { 0 };
	if (request(s, "DELETE", key, "", NULL, 0, NULL, &r, err, errlen) < 0)
		return -1;
	if (r.status == 404) /* S3 answers 204 for a missing key; some servers 404 */
		return 0;
	return expect_ok(&r, "DELETE", key, err, errlen);
}

int s3_read(const struct s3 *s, const char *key, off_t first, size_t len, char *buf, char *err, size_t errlen)
{
	struct reply r = { 0 };
	char range[64];

	if (len == 0)
		return 0;
	snprintf(range, sizeof(range), "bytes=%lld-%lld", (long long)first, (long long)first + (long long)len - 1);
	r.buf = buf;
	r.want = len;
	if (request(s, "GET", key, "", NULL, 0, range, &r, err, errlen) < 0)
		return -1;
	if (r.status != 206 && !(r.status == 200 && first == 0))
		return errbuf_set(err, errlen, "GET %s %s: HTTP %ld", key, range, r.status);
	if (r.len != len)
		return errbuf_set(err, errlen, "GET %s %s: %zu bytes came", key, range, r.len);
	return 0;
}

static char *presign(const struct s3 *s, const char *method, const char *key, long ttl_s, const char *content_type)
{
	char *path = path_of(s, key);
	const struct s3_presign p = { .method = method,
				      .content_type = content_type,
				      .base = s->public_base,
				      .path = path,
				      .region = s->region,
				      .access_key = s->access_key,
				      .secret_key = s->secret_key,
				      .now = time(NULL),
				      .expires_s = ttl_s };
	char *url = s3_presign_url(&p);
	free(path);
	return url;
}

char *s3_url(const struct s3 *s, const char *key, long ttl_s)
{
	return presign(s, "GET", key, ttl_s, NULL);
}

char *s3_put_url(const struct s3 *s, const char *key, long ttl_s, const char *content_type)
{
	return presign(s, "PUT", key, ttl_s, content_type);
}
