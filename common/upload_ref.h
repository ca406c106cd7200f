/*
 * How a job names a user's upload ("upload:<id>" in options.music) and where
 * the upload's bytes live in storage. Shared by the gateway, which checks the
 * reference when the job is made, and merge-worker, which reads the object.
 */
#ifndef REEL_UPLOAD_REF_H
#define REEL_UPLOAD_REF_H

#define UPLOAD_REF_PREFIX "upload:"
#define UPLOAD_KEY_PREFIX "uploads/" /* no other media may be named under it */

/* The id in a reference "upload:<id>", or NULL when s is not one. */
const char *upload_ref_id(const char *s);
/* The storage key of upload id ("uploads/<id>"); the caller frees. */
char *upload_ref_key(const char *id);

#endif
