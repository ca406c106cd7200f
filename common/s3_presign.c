/*
 * Query-string SigV4 (AWS's "presigned URL"): the one piece of S3 signing
 * written here, since libcurl signs only the requests it sends itself. The
 * payload is UNSIGNED-PAYLOAD and the only signed header is host (and, for
 * an upload, the Content-Type it must be sent with), so a browser can follow
 * the link as it is.
 */
#include "s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "banned.h"

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void hmac(const unsigned char *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int len = 32;
	/* HMAC only fails on allocation or a broken libcrypto. */
	if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len))
		abort();
}

/* RFC 3986 percent-encoding; '/' is kept when keep_slash (paths), encoded otherwise (values). */
static char *uri_encode(const char *s, int keep_slash)
{
	char *out = xmalloc(3 * strlen(s) + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/')) {
			*o++ = (char)*p;
		} else {
			snprintf(o, 4, "%%%02X", *p);
			o += 3;
		}
	}
	*o = '\0';
	return out;
}

/* The host header a client sends for base (scheme://host[:port][/...]). */
static char *host_of(const char *base)
{
	const char *h = strstr(base, "://");
	h = h ? h + 3 : base;
	return xstrndup(h, strcspn(h, "/"));
}

char *s3_presign_url(const struct s3_presign *p)
{
	char date[9], stamp[17], sig[65], payload_hash[65];
	unsigned char k1[32], k2[32], k3[32], k4[32], mac[32], digest[32];
	struct tm tm;

	gmtime_r(&p->now, &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	char *host = host_of(p->base), *path = uri_encode(p->path, 1);
	char *cred = xasprintf("%s/%s/%s/s3/aws4_request", p->access_key, date, p->region);
	char *cred_enc = uri_encode(cred, 0);
	const char *signed_headers = p->content_type ? "content-type%3Bhost" : "host";
	char *query = xasprintf("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s&X-Amz-Date=%s&X-Amz-Expires=%ld"
				"&X-Amz-SignedHeaders=%s",
				cred_enc, stamp, p->expires_s, signed_headers);
	char *type_line = p->content_type ? xasprintf("content-type:%s\n", p->content_type) : xstrdup("");
	char *creq = xasprintf("%s\n%s\n%s\n%shost:%s\n\n%s\nUNSIGNED-PAYLOAD", p->method, path, query, type_line, host,
			       p->content_type ? "content-type;host" : "host");
	SHA256((const unsigned char *)creq, strlen(creq), digest);
	hex(digest, 32, payload_hash);
	char *sts = xasprintf("AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", stamp, date, p->region, payload_hash);
	char *secret = xasprintf("AWS4%s", p->secret_key);

	hmac((const unsigned char *)secret, strlen(secret), date, k1);
	hmac(k1, 32, p->region, k2);
	hmac(k2, 32, "s3", k3);
	hmac(k3, 32, "aws4_request", k4);
	hmac(k4, 32, sts, mac);
	hex(mac, 32, sig);
	char *url = xasprintf("%s%s?%s&X-Amz-Signature=%s", p->base, path, query, sig);
	free(secret);
	free(sts);
	free(creq);
	free(type_line);
	free(query);
	free(cred_enc);
	free(cred);
	free(path);
	free(host);
	return url;
}
