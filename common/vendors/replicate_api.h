/*
 * Replicate's protocol (shared/reference/providers.md, sections 3 and 7):
 * creating a prediction with a completed-only webhook, reading a prediction
 * (the create answer, a poll, or a webhook body, which all share one shape),
 * and verifying a webhook's Standard Webhooks signature.
 */
#ifndef REEL_REPLICATE_API_H
#define REEL_REPLICATE_API_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <time.h>

#include "util.h"
#include "vendors/vendors.h"

/* The create request for model (owner/name -> /models/owner/name/predictions;
 * owner/name:version or a bare version id -> /predictions with "version"),
 * with input (taken over) and webhook. The caller frees *url and *body. */
void replicate_api_create(const char *base, const char *model, cJSON *input, const char *webhook, char **url,
			  char **body);
/* Reads a prediction object: id, status, output URLs (a string, an array of
 * strings, or an object holding them), error, urls.get and urls.cancel.
 * -1 with err when it is not a prediction. */
int replicate_api_read(const char *body, size_t len, struct vendor_result *out, char *err, size_t errlen) WARN_UNUSED;
/* Verifies a Standard Webhooks signature: secret "whsec_<base64>", the
 * webhook-id, webhook-timestamp and webhook-signature header values, the raw
 * body, the clock and the tolerance in seconds. 0 when valid; -1 with why. */
int replicate_api_verify(const char *secret, const char *id, const char *timestamp, const char *signatures,
			 const char *body, size_t len, time_t now, long tolerance_s, char *why,
			 size_t whylen) WARN_UNUSED;
/* The webhook-signature value for content signed with secret (for the simulator's tests
 * and the benchmark). The caller frees. NULL when the secret is malformed. */
char *replicate_api_sign(const char *secret, const char *id, const char *timestamp, const char *body, size_t len);

#endif
