/*
 * S3-compatible object storage (AWS S3, R2, MinIO, Supabase, OSS, TOS): the
 * requests storage.c makes for s3:// URLs, signed by libcurl's own SigV4, and
 * presigned GET URLs (query-string SigV4, which curl does not make).
 */
#ifndef REEL_S3_H
#define REEL_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "util.h"

/* The REEL_S3_* options (common/daemon.c); unset strings fall back to the AWS_* names. */
struct s3_config {
	char *endpoint;        /* http(s)://host[:port]; default https://s3.REGION.amazonaws.com */
	char *region;          /* signing region, default us-east-1 */
	char *access_key;      /* access key id */
	char *secret_key;      /* secret access key */
	char *public_endpoint; /* the endpoint browsers use in presigned links, default endpoint */
	bool path_style;       /* host/bucket/key instead of bucket.host/key */
	long multipart_mb;     /* uploads larger than this go in parts of this size */
};

/* One presigned request, the inputs of query-string SigV4 (pure, for tests). */
struct s3_presign {
	const char *method;       /* "GET", or "PUT" for an upload */
	const char *content_type; /* signed as the Content-Type header the client must send, or NULL */
	const char *base;         /* scheme://host[:port], as the client will connect */
	const char *path;         /* the absolute path, unencoded ("/bucket/key" or "/key") */
	const char *region, *access_key, *secret_key;
	time_t now;     /* signing time */
	long expires_s; /* X-Amz-Expires, 1..604800 */
};

struct s3; /* owned by storage; s3_free releases it */

/* A client for bucket (keys under prefix, which may be ""); NULL with err when settings are missing. */
struct s3 *s3_new(const char *bucket, const char *prefix, const struct s3_config *cfg, char *err, size_t errlen);
void s3_free(struct s3 *s);
/* Uploads the file at path as key, in parts above the multipart size. */
int s3_put_file(const struct s3 *s, const char *key, const char *path, char *err, size_t errlen) WARN_UNUSED;
/* Downloads key into the file at path (created or truncated). */
int s3_get_file(const struct s3 *s, const char *key, const char *path, char *err, size_t errlen) WARN_UNUSED;
/* The size of key: 0, 1 when there is no such object, -1 on other failures. */
int s3_size(const struct s3 *s, const char *key, off_t *size, char *err, size_t errlen) WARN_UNUSED;
/* Reads len bytes of key from first into buf (exactly len, or -1). */
int s3_read(const struct s3 *s, const char *key, off_t first, size_t len, char *buf, char *err,
	    size_t errlen) WARN_UNUSED;
/* Deletes key; a key already gone is not an error. */
int s3_delete(const struct s3 *s, const char *key, char *err, size_t errlen) WARN_UNUSED;
/* A presigned GET of key through the public endpoint, valid ttl_s seconds from now; the caller frees. */
char *s3_url(const struct s3 *s, const char *key, long ttl_s);
/* A presigned PUT of key through the public endpoint, valid ttl_s seconds, binding
 * content_type (the header the uploader must send) when not NULL; the caller frees. */
char *s3_put_url(const struct s3 *s, const char *key, long ttl_s, const char *content_type);
/* The presigned URL of p; the caller frees. */
char *s3_presign_url(const struct s3_presign *p);

#endif
