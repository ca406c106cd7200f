/*
 * GET /v1/files/{path*}: answers a signed download of a file in file://
 * storage, with single byte ranges (players seek), kept apart from the socket
 * so it is tested as plain logic. Nothing outside the storage root is served:
 * keys are checked, then the resolved path (symlinks followed) must stay inside.
 */
#ifndef REEL_FILES_H
#define REEL_FILES_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "storage.h"
#include "util.h"

#define FILES_MAX_PART (8u << 20)   /* bytes in one 206 answer; players ask again for the rest */
#define FILES_MAX_WHOLE (64u << 20) /* bytes in a 200 answer; larger files without Range get 413 */

/* One answer, caller-owned; files_answer_release frees its body. */
struct file_answer {
	int status;               /* 200, 206, or the problem's status (400, 403, 404, 413, 416, 500, 502) */
	char content_type[64];    /* of the file, from its extension (2xx only) */
	char content_range[96];   /* "bytes a-b/total" on 206, its star form on 416, else "" */
	char *body;               /* the bytes to send on 2xx, else NULL */
	size_t len;               /* bytes in body */
	off_t total;              /* the file's size, or -1 when it was not reached */
	const char *problem_type; /* slug for http_problem on failure ("not-found", ...), else NULL */
	char problem_detail[160]; /* why, for the problem's detail, on failure */
};

/*
 * Answers GET of key (decoded, as the route matched it) with query values exp
 * and sig (either may be NULL when absent) and the Range header (or NULL) at
 * time now. Returns 0 with a 200/206 answer, or -1 with a problem in out; out
 * is filled either way and must be released. In order:
 *   400 invalid-key     key fails storage_key_ok or has a segment starting with '.'
 *                       (storage's own .tmp folder is never served);
 *   403 bad-signature   missing, malformed, wrong or expired exp/sig (checked before
 *                       the filesystem is touched, so unsigned requests learn nothing);
 *   404 not-found       no such file, a directory or other non-regular file, or a
 *                       path that resolves outside the root or into a hidden folder;
 *   416                 a range that starts at or past the end (Content-Range: star form with the size);
 *   413 file-too-large  no usable Range and the file exceeds FILES_MAX_WHOLE (this API
 *                       holds a whole answer in memory; ask with "Range: bytes=0-");
 *   206                 "bytes=a-b", "bytes=a-" and "bytes=-n" (ends clamped to the file,
 *                       the part capped at FILES_MAX_PART);
 *   200                 the whole file otherwise. A Range with several ranges, another
 *                       unit or bad syntax is ignored (RFC 9110 allows it): 200.
 * Reentrant: it may run on the libuv thread pool, keeping file reads off the loop.
 */
int files_answer(const struct storage *st, const char *secret, const char *key, const char *exp, const char *sig,
		 const char *range_header, time_t now, struct file_answer *out) WARN_UNUSED;
/* files_answer without the signature: for a key the caller has already authorized
 * (a share link's video). The same answers otherwise. Reentrant. */
int files_serve(const struct storage *st, const char *key, const char *range_header,
		struct file_answer *out) WARN_UNUSED;
void files_answer_release(struct file_answer *a);

/* The Content-Type for key's extension (case-insensitive); application/octet-stream when unknown. */
const char *files_content_type(const char *key);

#endif
