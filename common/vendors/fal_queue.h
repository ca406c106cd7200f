/*
 * fal.ai's queue protocol (shared/reference/providers.md, section 4): the
 * submit answer, status and result bodies, webhook bodies, and the webhook's
 * ED25519 signature checked against the keys of a JWKS.
 */
#ifndef REEL_FAL_QUEUE_H
#define REEL_FAL_QUEUE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <time.h>

#include "util.h"
#include "vendors/vendors.h"

struct fal_keys; /* parsed signing keys; owned by the caller, fal_queue_keys_free releases them */

/* The Ed25519 keys of a JWKS document ({"keys":[{"kty":"OKP","crv":"Ed25519","x":...}]});
 * keys of other types are skipped. NULL with err when none is usable. */
struct fal_keys *fal_queue_keys_parse(const char *json, size_t len, char *err, size_t errlen);
void fal_queue_keys_free(struct fal_keys *k);
/* 0 when sig_hex (X-Fal-Webhook-Signature) signs request_id \n user_id \n
 * timestamp \n hex(sha256(body)) under one of keys and the timestamp is
 * within tolerance_s of now; -1 with why. */
int fal_queue_verify(const struct fal_keys *keys, const char *request_id, const char *user_id, const char *timestamp,
		     const char *sig_hex, const char *body, size_t len, time_t now, long tolerance_s, char *why,
		     size_t whylen) WARN_UNUSED;
/* The submit URL: base + "/" + model + "?fal_webhook=" + the escaped webhook. The caller frees. */
char *fal_queue_submit_url(const char *base, const char *model, const char *webhook);
/* Reads a submit or status answer: request_id, status (IN_QUEUE, IN_PROGRESS,
 * COMPLETED) and the response, status and cancel URLs. -1 with err. */
int fal_queue_read_queue(const char *body, size_t len, struct vendor_result *out, char *err, size_t errlen) WARN_UNUSED;
/* Reads a webhook body {request_id, status OK|ERROR, payload, error}: the
 * outputs of the payload on OK. -1 with err when the shape is not fal's. */
int fal_queue_read_webhook(const char *body, size_t len, struct vendor_result *out, char *err,
			   size_t errlen) WARN_UNUSED;
/* Reads a result body (the model's output): images[].url, image.url or video.url. */
int fal_queue_read_result(const char *body, size_t len, struct vendor_result *out, char *err,
			  size_t errlen) WARN_UNUSED;

#endif
