/*
 * Replicate predictions and Standard Webhooks signatures. Signatures are
 * checked over the raw bytes before any parsing, in constant time, against
 * every "v1," entry of the header (key rotation sends several).
 */
#include "errbuf.h"
#include "str.h"
#include "vendors/replicate_api.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "json.h"
#include "banned.h"

static bool is_version_id(const char *model)
{
	size_t n = strlen(model);
	return n == 64 && strspn(model, "0123456789abcdef") == 64;
}

void replicate_api_create(const char *base, const char *model, cJSON *input, const char *webhook, char **url,
			  char **body)
{
	cJSON *b = cJSON_CreateObject();
	const char *colon = strchr(model, ':');
	if (colon || is_version_id(model)) {
		cJSON_AddStringToObject(b, "version", model);
		*url = xasprintf("%s/predictions", base);
	} else {
		*url = xasprintf("%s/models/%s/predictions", base, model);
	}
	cJSON_AddItemToObject(b, "input", input);
	cJSON_AddStringToObject(b, "webhook", webhook);
	cJSON *filter = cJSON_AddArrayToObject(b, "webhook_events_filter");
	cJSON_AddItemToArray(filter, cJSON_CreateString("completed"));
	*body = json_print(b);
	cJSON_Delete(b);
}

static void add_outputs(struct vendor_result *out, const cJSON *o)
{
	const cJSON *item;
	if (cJSON_IsString(o)) {
		vendors_result_add_output(out, o->valuestring);
		return;
	}
	cJSON_ArrayForEach (item, o) /* arrays and objects alike */
		if (cJSON_IsString(item) &&
		    (strncmp(item->valuestring, "http", 4) == 0 || strncmp(item->valuestring, "data:", 5) == 0))
			vendors_result_add_output(out, item->valuestring);
}

static enum vendor_state state_of(const char *status)
{
	if (strcmp(status, "succeeded") == 0)
		return VENDOR_SUCCEEDED;
	if (strcmp(status, "failed") == 0 || strcmp(status, "aborted") == 0)
		return VENDOR_FAILED;
	if (strcmp(status, "canceled") == 0)
		return VENDOR_CANCELED;
	return VENDOR_RUNNING;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

int replicate_api_read(const char *body, size_t len, struct vendor_result *out, char *err, size_t errlen)
{
	cJSON *j = json_parse(body, len);
	const char *id = json_str(j, "id"), *status = json_str(j, "status"), *error = json_str(j, "error");
	const cJSON *urls = cJSON_GetObjectItemCaseSensitive(j, "urls");
	if (!id || !*id || !status || strlen(id) >= sizeof(out->id)) {
		cJSON_Delete(j);
		return errbuf_set(err, errlen, "not a Replicate prediction (no id or status)");
	}
	*out = (struct vendor_result){ .state = state_of(status) };
	str_copy(out->id, id, sizeof(out->id));
	if (out->state == VENDOR_SUCCEEDED)
		add_outputs(out, cJSON_GetObjectItemCaseSensitive(j, "output"));
	if (out->state == VENDOR_FAILED)
		/* An empty error would leave the job failing without a reason. */
		snprintf(out->error, sizeof(out->error), "%s", error && *error ? error : status);
	out->get_url = dup_or_null(json_str(urls, "get"));
	out->cancel_url = dup_or_null(json_str(urls, "cancel"));
	cJSON_Delete(j);
	return 0;
}

static unsigned char *secret_key(const char *secret, size_t *keylen)
{
	if (!secret || strncmp(secret, "whsec_", 6) != 0)
		return NULL;
	return base64_decode(secret + 6, strlen(secret + 6), false, keylen);
}

/* HMAC-SHA256 of "{id}.{timestamp}.{body}". */
static void mac(const unsigned char *key, size_t keylen, const char *id, const char *timestamp, const char *body,
		size_t len, unsigned char out[32])
{
	size_t head = strlen(id) + strlen(timestamp) + 2;
	char *content = xmalloc(head + len + 1);
	unsigned int n = 32;
	snprintf(content, head + 1, "%s.%s.", id, timestamp);
	memcpy(content + head, body, len);
	/* HMAC only fails on allocation or a broken libcrypto. */
	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)content, head + len, out, &n))
		abort();
	free(content);
}

char *replicate_api_sign(const char *secret, const char *id, const char *timestamp, const char *body, size_t len)
{
	size_t keylen;
	unsigned char *key = secret_key(secret, &keylen), sig[32];
	if (!key)
		return NULL;
	mac(key, keylen, id, timestamp, body, len, sig);
	free(key);
	char *b64 = base64_encode(sig, sizeof(sig)), *out = xasprintf("v1,%s", b64);
	free(b64);
	return out;
}

/* True when one "v1,<base64>" entry of the space-separated list is sig. */
static bool any_matches(const char *signatures, const unsigned char sig[32])
{
	const char *p = signatures;
	bool ok = false;
	while (*p) {
		size_t n = strcspn(p, " ");
		if (n > 3 && strncmp(p, "v1,", 3) == 0) {
			size_t got = 0;
			unsigned char *cand = base64_decode(p + 3, n - 3, false, &got);
			if (cand && got == 32 && CRYPTO_memcmp(cand, sig, 32) == 0)
				ok = true;
			free(cand);
		}
		p += n;
		p += strspn(p, " ");
	}
	return ok;
}

int replicate_api_verify(const char *secret, const char *id, const char *timestamp, const char *signatures,
			 const char *body, size_t len, time_t now, long tolerance_s, char *why, size_t whylen)
{
	size_t keylen;
	unsigned char *key, sig[32];
	char *end;
	if (!id || !*id || !timestamp || !signatures)
		return errbuf_set(why, whylen, "missing webhook-id, webhook-timestamp or webhook-signature");
	long long ts = strtoll(timestamp, &end, 10);
	if (end == timestamp || *end)
		return errbuf_set(why, whylen, "webhook-timestamp is not a number");
	if (!(key = secret_key(secret, &keylen)))
		return errbuf_set(why, whylen, "REPLICATE_WEBHOOK_SECRET is not a whsec_ secret");
	mac(key, keylen, id, timestamp, body, len, sig);
	free(key);
	if (!any_matches(signatures, sig))
		return errbuf_set(why, whylen, "no webhook-signature entry matches");
	if (ts < (long long)now - tolerance_s || ts > (long long)now + tolerance_s)
		return errbuf_set(why, whylen, "webhook-timestamp is outside the %ld s tolerance", tolerance_s);
	return 0;
}
