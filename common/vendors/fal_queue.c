/*
 * fal queue bodies and webhook signatures. A signature is checked over the
 * raw body's SHA-256 before any parsing; every key of the set is tried, as
 * fal rotates them.
 */
#include "errbuf.h"
#include "str.h"
#include "vendors/fal_queue.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "json.h"
#include "banned.h"

#define FAL_MAX_KEYS 16

struct fal_keys {
	EVP_PKEY *pkeys[FAL_MAX_KEYS];
	size_t n;
};

struct fal_keys *fal_queue_keys_parse(const char *json, size_t len, char *err, size_t errlen)
{
	cJSON *j = json_parse(json, len), *k;
	struct fal_keys *keys = xcalloc(1, sizeof(*keys));
	cJSON_ArrayForEach (k, cJSON_GetObjectItemCaseSensitive(j, "keys")) {
		const char *kty = json_str(k, "kty"), *crv = json_str(k, "crv"), *x = json_str(k, "x");
		size_t n = 0;
		unsigned char *raw;
		if (!kty || !crv || !x || strcmp(kty, "OKP") != 0 || strcmp(crv, "Ed25519") != 0 ||
		    keys->n == FAL_MAX_KEYS)
			continue;
		raw = base64_decode(x, strlen(x), true, &n);
		if (raw && n == 32)
			keys->pkeys[keys->n] = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
		if (keys->pkeys[keys->n])
			keys->n++;
		free(raw);
	}
	cJSON_Delete(j);
	if (keys->n == 0) {
		fal_queue_keys_free(keys);
		errbuf_set(err, errlen, "the JWKS holds no Ed25519 key");
		return NULL;
	}
	return keys;
}

void fal_queue_keys_free(struct fal_keys *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		EVP_PKEY_free(k->pkeys[i]);
	free(k);
}

static int hex_decode(const char *hex, unsigned char *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

static bool verify_one(EVP_PKEY *key, const char *msg, size_t len, const unsigned char sig[64])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok = EVP_DigestVerifyInit(c, NULL, NULL, NULL, key) == 1 &&
		  EVP_DigestVerify(c, sig, 64, (const unsigned char *)msg, len) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

int fal_queue_verify(const struct fal_keys *keys, const char *request_id, const char *user_id, const char *timestamp,
		     const char *sig_hex, const char *body, size_t len, time_t now, long tolerance_s, char *why,
		     size_t whylen)
{
	unsigned char sig[64], digest[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1], *end;
	bool ok = false;
	if (!request_id || !user_id || !timestamp || !sig_hex)
		return errbuf_set(why, whylen, "missing X-Fal-Webhook-Request-Id, -User-Id, -Timestamp or -Signature");
	long long ts = strtoll(timestamp, &end, 10);
	if (end == timestamp || *end)
		return errbuf_set(why, whylen, "X-Fal-Webhook-Timestamp is not a number");
	if (hex_decode(sig_hex, sig, sizeof(sig)) < 0)
		return errbuf_set(why, whylen, "X-Fal-Webhook-Signature is not 64 bytes of hex");
	if (!keys)
		return errbuf_set(why, whylen, "no fal signing keys are loaded");
	SHA256((const unsigned char *)body, len, digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	char *msg = xasprintf("%s\n%s\n%s\n%s", request_id, user_id, timestamp, hex);
	for (size_t i = 0; i < keys->n && !ok; i++)
		ok = verify_one(keys->pkeys[i], msg, strlen(msg), sig);
	free(msg);
	if (!ok)
		return errbuf_set(why, whylen, "the signature matches none of fal's keys");
	if (ts < (long long)now - tolerance_s || ts > (long long)now + tolerance_s)
		return errbuf_set(why, whylen, "X-Fal-Webhook-Timestamp is outside the %ld s tolerance", tolerance_s);
	return 0;
}

char *fal_queue_submit_url(const char *base, const char *model, const char *webhook)
{
	char *escaped = curl_easy_escape(NULL, webhook, 0);
	char *url = xasprintf("%s/%s?fal_webhook=%s", base, model, escaped ? escaped : "");
	curl_free(escaped);
	return url;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

int fal_queue_read_queue(const char *body, size_t len, struct vendor_result *out, char *err, size_t errlen)
{
	cJSON *j = json_parse(body, len);
	const char *id = json_str(j, "request_id"), *status = json_str(j, "status");
	if (!id || !*id || strlen(id) >= sizeof(out->id)) {
		cJSON_Delete(j);
		return errbuf_set(err, errlen, "not a fal queue answer (no request_id)");
	}
	*out = (struct vendor_result){ .state = VENDOR_RUNNING };
	str_copy(out->id, id, sizeof(out->id));
	if (status && strcmp(status, "COMPLETED") == 0)
		out->state = VENDOR_SUCCEEDED; /* the result body says whether it failed */
	out->result_url = dup_or_null(json_str(j, "response_url"));
	out->get_url = dup_or_null(json_str(j, "status_url"));
	out->cancel_url = dup_or_null(json_str(j, "cancel_url"));
	cJSON_Delete(j);
	return 0;
}

static void add_outputs(struct vendor_result *out, const cJSON *payload)
{
	const cJSON *img;
	cJSON_ArrayForEach (img, cJSON_GetObjectItemCaseSensitive(payload, "images"))
		vendors_result_add_output(out, json_str(img, "url"));
	vendors_result_add_output(out, json_str(cJSON_GetObjectItemCaseSensitive(payload, "image"), "url"));
	vendors_result_add_output(out, json_str(cJSON_GetObjectItemCaseSensitive(payload, "video"), "url"));
}

/* The error text of a failed result: "detail" as a string or FastAPI's list. */
static void detail_text(const cJSON *payload, char *out, size_t outlen)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(payload, "detail");
	const cJSON *first = cJSON_GetArrayItem(d, 0);
	const char *msg = cJSON_IsString(d) ? d->valuestring : json_str(first, "msg");
	if (msg)
		snprintf(out, outlen, "%s", msg);
}

int fal_queue_read_webhook(const char *body, size_t len, struct vendor_result *out, char *err, size_t errlen)
{
	cJSON *j = json_parse(body, len);
	const char *id = json_str(j, "request_id"), *status = json_str(j, "status");
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(j, "payload");
	if (!id || !*id || !status || strlen(id) >= sizeof(out->id)) {
		cJSON_Delete(j);
		return errbuf_set(err, errlen, "not a fal webhook (no request_id or status)");
	}
	*out = (struct vendor_result){ .state = strcmp(status, "OK") == 0 ? VENDOR_SUCCEEDED : VENDOR_FAILED };
	str_copy(out->id, id, sizeof(out->id));
	if (out->state == VENDOR_SUCCEEDED)
		add_outputs(out, payload);
	if (out->state == VENDOR_SUCCEEDED && out->n_outputs == 0) {
		const char *pe = json_str(j, "payload_error");
		out->state = VENDOR_FAILED;
		snprintf(out->error, sizeof(out->error), "%s", pe ? pe : "the result holds no image or video");
	} else if (out->state == VENDOR_FAILED) {
		const char *e = json_str(j, "error");
		snprintf(out->error, sizeof(out->error), "%s: ", e ? e : status);
		detail_text(payload, out->error + strlen(out->error), sizeof(out->error) - strlen(out->error));
	}
	cJSON_Delete(j);
	return 0;
}

int fal_queue_read_result(const char *body, size_t len, struct vendor_result *out, char *err, size_t errlen)
{
	cJSON *j = json_parse(body, len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return errbuf_set(err, errlen, "the fal result is not a JSON object");
	}
	add_outputs(out, j);
	out->state = out->n_outputs ? VENDOR_SUCCEEDED : VENDOR_FAILED;
	if (!out->n_outputs) {
		snprintf(out->error, sizeof(out->error), "the result holds no image or video: ");
		detail_text(j, out->error + strlen(out->error), sizeof(out->error) - strlen(out->error));
	}
	cJSON_Delete(j);
	return 0;
}
