/*
 * Bearer authentication: compact JWS verification (HS256 with the shared
 * secret; RS256/ES256 with public keys built from a JWKS file through
 * OpenSSL 3's EVP_PKEY_fromdata) and rk_ API keys kept as SHA-256 hashes.
 * Every byte of a token is untrusted: decoding is strict, sizes are bounded,
 * and nothing in a payload is read before its signature has been checked.
 */
#include "auth.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include "json.h"
#include "banned.h"

#define JWKS_FILE_MAX (1024 * 1024)
#define JWKS_KEYS_MAX 64
#define KID_MAX 256
#define SECRET_MIN 32 /* RFC 7518 3.2: an HS256 key is at least as long as the hash */
#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 8192      /* bounds what one verification can cost */
#define CLAIM_TIME_MAX 1.0e11  /* year 5138: later times come from a broken issuer */
#define LEEWAY_MAX 3600

enum key_type { KEY_RSA, KEY_EC };

struct jwk {
	char *kid;          /* NULL when the key has none */
	enum key_type type;
	EVP_PKEY *pkey;     /* owned */
};

struct auth {
	unsigned char *secret; /* HS256 key, or NULL */
	size_t secretlen;
	char *audience;        /* or NULL: aud not checked */
	long leeway;
	struct jwk *keys;
	size_t nkeys;
};

static enum auth_result refuse(char *why, size_t whylen, const char *fmt, ...) PRINTF_LIKE(3, 4);

static enum auth_result refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return AUTH_INVALID;
}

/* Token text is echoed into messages only when it cannot garble a log line. */
static const char *printable(const char *s)
{
	size_t n = strnlen(s, 65);
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return "(unprintable)";
	return n > 64 ? "(too long)" : s;
}

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	return c == '_' ? 63 : -1;
}

/*
 * Unpadded base64url as JWS requires. The unused low bits of the last
 * character must be zero, so each byte string has exactly one accepted
 * spelling. The caller frees the result; NULL when s is not such text.
 */
static unsigned char *b64url_decode(const char *s, size_t len, size_t *outlen)
{
	unsigned char *out;
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;

	if (len % 4 == 1)
		return NULL;
	out = xmalloc(len / 4 * 3 + 3);
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)s[i]);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1))
		goto bad;
	*outlen = n;
	return out;
bad:
	free(out);
	return NULL;
}

/* ---- JWKS ---- */

static unsigned char *jwk_bytes(const cJSON *k, const char *name, size_t *len)
{
	const char *s = json_str(k, name);
	return s ? b64url_decode(s, strlen(s), len) : NULL;
}

static bool public_ok(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	bool ok = ctx && EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* A public key of type ("RSA", "EC") from the parameters in bld; NULL when OpenSSL refuses them. */
static EVP_PKEY *pkey_from(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	if (pkey && !public_ok(pkey)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	return pkey;
}

static EVP_PKEY *rsa_from_bn(const BIGNUM *n, const BIGNUM *e, char *err, size_t errlen)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pkey = NULL;
	int bits = BN_num_bits(n);

	if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX) {
		errorf(err, errlen, "RSA modulus of %d bits; %d to %d accepted", bits, RSA_BITS_MIN, RSA_BITS_MAX);
	} else {
		if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			pkey = pkey_from("RSA", bld);
		if (!pkey)
			errorf(err, errlen, "OpenSSL refuses the RSA public key (n, e)");
	}
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *rsa_key(const cJSON *k, char *err, size_t errlen)
{
	size_t nlen = 0, elen = 0;
	unsigned char *n = jwk_bytes(k, "n", &nlen), *e = jwk_bytes(k, "e", &elen);
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *pkey = NULL;

	/* An exponent over 64 bits only makes verification slow. */
	if (!n || !e || nlen == 0 || elen == 0 || elen > 8)
		errorf(err, errlen, "RSA key needs base64url members n and e");
	else if (!(bn = BN_bin2bn(n, (int)nlen, NULL)) || !(be = BN_bin2bn(e, (int)elen, NULL)))
		errorf(err, errlen, "out of memory for RSA numbers");
	else
		pkey = rsa_from_bn(bn, be, err, errlen);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return pkey;
}

static EVP_PKEY *ec_key(const cJSON *k, char *err, size_t errlen)
{
	size_t xlen = 0, ylen = 0;
	unsigned char *x = jwk_bytes(k, "x", &xlen), *y = jwk_bytes(k, "y", &ylen);
	unsigned char point[65];
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	if (!x || !y || xlen != 32 || ylen != 32) {
		errorf(err, errlen, "P-256 key needs base64url members x and y of 32 bytes each");
		goto out;
	}
	point[0] = 0x04; /* uncompressed SEC1 point: 04 || x || y */
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) ||
	    !(pkey = pkey_from("EC", bld)))
		errorf(err, errlen, "x, y is not a point of P-256");
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return pkey;
}

/* The type we verify with, or -1 for a key meant for another algorithm or use. */
static int usable_type(const cJSON *k)
{
	const char *kty = json_str(k, "kty"), *crv = json_str(k, "crv");
	const char *use = json_str(k, "use"), *alg = json_str(k, "alg");
	int type;

	if (strcmp(kty, "RSA") == 0)
		type = KEY_RSA;
	else if (strcmp(kty, "EC") == 0 && crv && strcmp(crv, "P-256") == 0)
		type = KEY_EC;
	else
		return -1;
	if (use && strcmp(use, "sig") != 0)
		return -1;
	if (alg && strcmp(alg, type == KEY_RSA ? "RS256" : "ES256") != 0)
		return -1;
	return type;
}

static int load_key(struct auth *a, const cJSON *k, char *err, size_t errlen)
{
	const cJSON *kid = cJSON_GetObjectItemCaseSensitive(k, "kid");
	EVP_PKEY *pkey;
	int type;

	if (!cJSON_IsObject(k) || !json_str(k, "kty"))
		return errorf(err, errlen, "not an object with a kty string");
	/* Verification needs none of it; its presence means a secret was published. */
	if (cJSON_GetObjectItemCaseSensitive(k, "d"))
		return errorf(err, errlen, "holds private key material (d); the file must list public keys only");
	if (kid && (!cJSON_IsString(kid) || !*kid->valuestring || strlen(kid->valuestring) >= KID_MAX))
		return errorf(err, errlen, "kid is not a string of 1 to %d bytes", KID_MAX - 1);
	type = usable_type(k);
	if (type < 0)
		return 0;
	pkey = type == KEY_RSA ? rsa_key(k, err, errlen) : ec_key(k, err, errlen);
	if (!pkey)
		return -1;
	a->keys[a->nkeys++] = (struct jwk){
		.kid = kid ? xstrdup(kid->valuestring) : NULL,
		.type = type,
		.pkey = pkey,
	};
	return 0;
}

static int load_keys(struct auth *a, const cJSON *keys, const char *path, char *err, size_t errlen)
{
	const cJSON *k;
	char why[200];
	size_t i = 0;

	a->keys = xcalloc((size_t)cJSON_GetArraySize(keys) + 1, sizeof(*a->keys));
	cJSON_ArrayForEach(k, keys)
	{
		if (load_key(a, k, why, sizeof(why)) < 0)
			return errorf(err, errlen, "JWKS file %s: keys[%zu]: %s", path, i, why);
		i++;
	}
	if (a->nkeys == 0)
		return errorf(err, errlen, "JWKS file %s: no RS256 or ES256 (P-256) signing key", path);
	return 0;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int failed;

	if (!f) {
		errorf(err, errlen, "JWKS file %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(JWKS_FILE_MAX + 1);
	n = fread(buf, 1, JWKS_FILE_MAX + 1, f);
	failed = ferror(f);
	fclose(f);
	if (failed || n > JWKS_FILE_MAX) {
		errorf(err, errlen, "JWKS file %s: %s", path, failed ? "unreadable" : "larger than 1 MiB");
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int load_jwks(struct auth *a, const char *path, char *err, size_t errlen)
{
	size_t len = 0;
	char *buf = read_file(path, &len, err, errlen);
	cJSON *root;
	const cJSON *keys;
	int rc;

	if (!buf)
		return -1;
	root = json_parse(buf, len);
	free(buf);
	keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
	if (!cJSON_IsObject(root) || !cJSON_IsArray(keys))
		rc = errorf(err, errlen, "JWKS file %s: not JSON of the form {\"keys\":[...]}", path);
	else if (cJSON_GetArraySize(keys) > JWKS_KEYS_MAX)
		rc = errorf(err, errlen, "JWKS file %s: more than %d keys", path, JWKS_KEYS_MAX);
	else
		rc = load_keys(a, keys, path, err, errlen);
	cJSON_Delete(root);
	return rc;
}

/* ---- lifecycle ---- */

struct auth *auth_new(const struct auth_settings *s, char *err, size_t errlen)
{
	struct auth *a;

	if (s->leeway_s < 0 || s->leeway_s > LEEWAY_MAX) {
		errorf(err, errlen, "JWT leeway of %ld s; 0 to %d accepted", s->leeway_s, LEEWAY_MAX);
		return NULL;
	}
	a = xcalloc(1, sizeof(*a));
	a->leeway = s->leeway_s;
	if (s->audience && *s->audience)
		a->audience = xstrdup(s->audience);
	if (s->jwt_secret && *s->jwt_secret) {
		a->secretlen = strlen(s->jwt_secret);
		a->secret = (unsigned char *)xstrdup(s->jwt_secret);
		if (a->secretlen < SECRET_MIN) {
			errorf(err, errlen, "JWT secret of %zu bytes; HS256 needs at least %d", a->secretlen, SECRET_MIN);
			goto fail;
		}
	}
	if (s->jwks_file && *s->jwks_file && load_jwks(a, s->jwks_file, err, errlen) < 0)
		goto fail;
	return a;
fail:
	auth_free(a);
	ERR_clear_error();
	return NULL;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	if (a->secret)
		OPENSSL_cleanse(a->secret, a->secretlen);
	free(a->secret);
	free(a->audience);
	for (size_t i = 0; i < a->nkeys; i++) {
		free(a->keys[i].kid);
		EVP_PKEY_free(a->keys[i].pkey);
	}
	free(a->keys);
	free(a);
}

bool auth_enabled(const struct auth *a)
{
	return a && (a->secret || a->nkeys > 0);
}

const char *auth_bearer_token(const char *authorization)
{
	const char *t = authorization;

	if (!t || strncasecmp(t, "Bearer", 6) != 0 || (t[6] != ' ' && t[6] != '\t'))
		return NULL;
	for (t += 6; *t == ' ' || *t == '\t'; t++)
		;
	if (!*t || strpbrk(t, " \t\r\n"))
		return NULL;
	return t;
}

bool auth_is_api_key(const char *token)
{
	return token && strncmp(token, "rk_", 3) == 0;
}

/* ---- JWS ---- */

/* Duplicate names let two parsers read different claims from one signed text. */
static bool has_duplicates(const cJSON *obj)
{
	for (const cJSON *x = obj->child; x; x = x->next)
		for (const cJSON *y = x->next; y; y = y->next)
			if (strcmp(x->string, y->string) == 0)
				return true;
	return false;
}

/* cJSON ends a string at a NUL, so "a\u0000b" would read as "a": such text is refused whole. */
static bool has_nul(const char *s, size_t n)
{
	if (memchr(s, '\0', n))
		return true;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
			return true;
		i++; /* the escaped character cannot start another escape */
	}
	return false;
}

static cJSON *decode_object(const char *s, size_t len)
{
	size_t n = 0;
	unsigned char *raw = b64url_decode(s, len, &n);
	cJSON *j = NULL;

	if (!raw)
		return NULL;
	if (!has_nul((const char *)raw, n))
		j = json_parse((const char *)raw, n);
	free(raw);
	if (j && (!cJSON_IsObject(j) || has_duplicates(j))) {
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

/* JWS carries ES256 signatures as raw r || s; OpenSSL verifies DER. Length of *der or -1. */
static int es256_der(const unsigned char *sig, size_t siglen, unsigned char **der)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = NULL, *s = NULL;
	int n = -1;

	if (siglen == 64 && es && (r = BN_bin2bn(sig, 32, NULL)) && (s = BN_bin2bn(sig + 32, 32, NULL)) &&
	    ECDSA_SIG_set0(es, r, s) == 1) {
		r = s = NULL; /* es owns them now */
		n = i2d_ECDSA_SIG(es, der);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return n > 0 ? n : -1;
}

static bool verify_pkey(const struct jwk *k, const char *input, size_t inlen, const unsigned char *sig, size_t siglen)
{
	unsigned char *der = NULL;
	EVP_MD_CTX *md;
	bool ok;

	if (k->type == KEY_EC) {
		int n = es256_der(sig, siglen, &der);
		if (n < 0)
			return false;
		sig = der;
		siglen = (size_t)n;
	} else if (siglen != (size_t)EVP_PKEY_get_size(k->pkey)) {
		return false;
	}
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(md, sig, siglen, (const unsigned char *)input, inlen) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	/* A failed check queues errors that would confuse the next TLS user on this thread. */
	ERR_clear_error();
	return ok;
}

static enum auth_result verify_hs256(const struct auth *a, const char *input, size_t inlen,
				     const unsigned char *sig, size_t siglen, char *why, size_t whylen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (!a->secret)
		return refuse(why, whylen, "HS256 is not accepted: no JWT secret is configured");
	if (!HMAC(EVP_sha256(), a->secret, (int)a->secretlen, (const unsigned char *)input, inlen, mac, &maclen))
		return refuse(why, whylen, "HMAC computation failed");
	if (siglen != maclen || CRYPTO_memcmp(mac, sig, maclen) != 0)
		return refuse(why, whylen, "HS256 signature does not match");
	return AUTH_OK;
}

/* Tries the key named by kid, or every key of the type when the token names none. */
static enum auth_result verify_jwks(const struct auth *a, const cJSON *hdr, enum key_type type, const char *input,
				    size_t inlen, const unsigned char *sig, size_t siglen, char *why, size_t whylen)
{
	const char *alg = type == KEY_RSA ? "RS256" : "ES256";
	const cJSON *kidj = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
	const char *kid = cJSON_IsString(kidj) ? kidj->valuestring : NULL;
	size_t tried = 0;

	if (kidj && !kid)
		return refuse(why, whylen, "kid is not a string");
	for (size_t i = 0; i < a->nkeys; i++) {
		const struct jwk *k = &a->keys[i];
		if (k->type != type || (kid && (!k->kid || strcmp(k->kid, kid) != 0)))
			continue;
		tried++;
		if (verify_pkey(k, input, inlen, sig, siglen))
			return AUTH_OK;
	}
	if (tried == 0 && kid)
		return refuse(why, whylen, "no %s key with kid \"%s\" in the JWKS file", alg, printable(kid));
	if (tried == 0)
		return refuse(why, whylen, "%s is not accepted: no such key in the JWKS file", alg);
	return refuse(why, whylen, "%s signature does not match", alg);
}

static enum auth_result verify_signature(const struct auth *a, const cJSON *hdr, const char *input, size_t inlen,
					 const char *s64, size_t s64len, char *why, size_t whylen)
{
	const char *alg = json_str(hdr, "alg");
	unsigned char *sig;
	size_t siglen = 0;
	enum auth_result r;

	if (!alg)
		return refuse(why, whylen, "header has no alg");
	if (strcmp(alg, "HS256") != 0 && strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0)
		return refuse(why, whylen, "alg \"%s\" is not accepted (HS256, RS256, ES256 are)", printable(alg));
	/* RFC 7515 4.1.11: extensions the recipient does not understand make the token invalid. */
	if (cJSON_GetObjectItemCaseSensitive(hdr, "crit"))
		return refuse(why, whylen, "header lists crit extensions; none are supported");
	sig = b64url_decode(s64, s64len, &siglen);
	if (!sig)
		return refuse(why, whylen, "signature is not base64url");
	if (alg[0] == 'H')
		r = verify_hs256(a, input, inlen, sig, siglen, why, whylen);
	else
		r = verify_jwks(a, hdr, alg[0] == 'R' ? KEY_RSA : KEY_EC, input, inlen, sig, siglen, why, whylen);
	free(sig);
	return r;
}

/* 1 with *out set, 0 when absent, -1 when not a plausible NumericDate (floats are allowed). */
static int claim_time(const cJSON *c, const char *name, double *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(c, name);

	if (!it)
		return 0;
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0 ||
	    it->valuedouble > CLAIM_TIME_MAX)
		return -1;
	*out = it->valuedouble;
	return 1;
}

static bool audience_ok(const cJSON *c, const char *want)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(c, "aud"), *it;

	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, want) == 0;
	if (!cJSON_IsArray(aud))
		return false;
	cJSON_ArrayForEach(it, aud)
	{
		if (cJSON_IsString(it) && strcmp(it->valuestring, want) == 0)
			return true;
	}
	return false;
}

/* Never truncates: two long subs sharing a prefix must not become one owner. */
static enum auth_result copy_sub(const cJSON *c, char *sub, size_t sublen, char *why, size_t whylen)
{
	const char *s = json_str(c, "sub");
	size_t n;

	if (!s || !*s)
		return refuse(why, whylen, "no sub claim");
	n = strlen(s);
	if (n >= AUTH_SUB_MAX || n >= sublen)
		return refuse(why, whylen, "sub is longer than %zu bytes", (sublen < AUTH_SUB_MAX ? sublen : AUTH_SUB_MAX) - 1);
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] > 0x7e)
			return refuse(why, whylen, "sub holds spaces or characters other than printable ASCII");
	memcpy(sub, s, n + 1);
	return AUTH_OK;
}

/* Expiry is judged last, so AUTH_EXPIRED means a refreshed token would pass. */
static enum auth_result check_claims(const struct auth *a, const cJSON *c, time_t now, char *sub, size_t sublen,
				     char *why, size_t whylen)
{
	double t = (double)now, lee = (double)a->leeway, exp = 0, nbf = 0, iat = 0;
	int has_exp = claim_time(c, "exp", &exp), has_nbf = claim_time(c, "nbf", &nbf);
	int has_iat = claim_time(c, "iat", &iat);

	if (has_exp <= 0)
		return refuse(why, whylen, has_exp ? "exp is not a NumericDate" : "no exp claim");
	if (has_nbf < 0 || has_iat < 0)
		return refuse(why, whylen, "%s is not a NumericDate", has_nbf < 0 ? "nbf" : "iat");
	if (has_nbf && t + lee < nbf)
		return refuse(why, whylen, "not valid for another %.0f s (nbf)", nbf - t);
	if (has_iat && t + lee < iat)
		return refuse(why, whylen, "issued %.0f s in the future (iat)", iat - t);
	if (a->audience && !audience_ok(c, a->audience))
		return refuse(why, whylen, "aud does not name the audience \"%s\"", printable(a->audience));
	if (copy_sub(c, sub, sublen, why, whylen) != AUTH_OK)
		return AUTH_INVALID;
	if (t - lee >= exp) {
		sub[0] = '\0';
		errorf(why, whylen, "expired %.0f s ago", t - exp);
		return AUTH_EXPIRED;
	}
	return AUTH_OK;
}

enum auth_result auth_verify_jwt(const struct auth *a, const char *token, time_t now, char *sub, size_t sublen,
				 char *why, size_t whylen)
{
	const char *d1, *d2, *end;
	enum auth_result r;
	cJSON *hdr, *claims;
	size_t len;

	assert(sub && sublen > 0);
	sub[0] = '\0';
	if (!token || !*token) {
		errorf(why, whylen, "no token");
		return AUTH_MISSING;
	}
	len = strnlen(token, AUTH_TOKEN_MAX + 1);
	if (len > AUTH_TOKEN_MAX)
		return refuse(why, whylen, "token longer than %d bytes", AUTH_TOKEN_MAX);
	if (!auth_enabled(a))
		return refuse(why, whylen, "JWT authentication is not configured");
	end = token + len;
	d1 = memchr(token, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', (size_t)(end - d1 - 1)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)))
		return refuse(why, whylen, "not a compact JWS of three dot-separated parts");
	if (d1 == token || d2 == d1 + 1 || d2 + 1 == end)
		return refuse(why, whylen, "a part of the token is empty");
	hdr = decode_object(token, (size_t)(d1 - token));
	if (!hdr)
		return refuse(why, whylen, "header is not a base64url JSON object");
	r = verify_signature(a, hdr, token, (size_t)(d2 - token), d2 + 1, (size_t)(end - d2 - 1), why, whylen);
	cJSON_Delete(hdr);
	if (r != AUTH_OK)
		return r;
	claims = decode_object(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!claims)
		return refuse(why, whylen, "payload is not a base64url JSON object");
	r = check_claims(a, claims, now, sub, sublen, why, whylen);
	cJSON_Delete(claims);
	return r;
}

/* ---- API keys ---- */

static bool key_chars(const char *s, size_t n, bool upper)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (upper && c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

int auth_api_key_split(const char *key, char *prefix, size_t prefixlen)
{
	const size_t head = 3 + AUTH_KEY_PREFIX_LEN + 1;
	size_t n;

	if (!key || strncmp(key, "rk_", 3) != 0)
		return -1;
	n = strnlen(key, AUTH_KEY_MAX);
	if (n < head + AUTH_KEY_SECRET_MIN || n > head + AUTH_KEY_SECRET_MAX || key[head - 1] != '_')
		return -1;
	if (!key_chars(key + 3, AUTH_KEY_PREFIX_LEN, false) || !key_chars(key + head, n - head, true))
		return -1;
	if (prefixlen <= AUTH_KEY_PREFIX_LEN)
		return -1;
	memcpy(prefix, key + 3, AUTH_KEY_PREFIX_LEN);
	prefix[AUTH_KEY_PREFIX_LEN] = '\0';
	return 0;
}

void auth_api_key_hash(const char *key, char hex[65])
{
	auth_sha256_hex(key, strlen(key), hex);
}

void auth_sha256_hex(const void *data, size_t len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ok = EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);

	assert(ok == 1 && mdlen == 32);
	for (unsigned int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

bool auth_api_key_matches(const char *key, const char *stored_hex)
{
	char prefix[AUTH_KEY_PREFIX_LEN + 1], hex[65];

	if (auth_api_key_split(key, prefix, sizeof(prefix)) < 0 || !stored_hex || strnlen(stored_hex, 65) != 64)
		return false;
	auth_api_key_hash(key, hex);
	return CRYPTO_memcmp(hex, stored_hex, 64) == 0;
}

/* n characters drawn uniformly from alphabet: bytes past the last whole multiple are discarded. */
static void random_chars(char *out, size_t n, const char *alphabet)
{
	size_t alen = strlen(alphabet), i = 0;
	unsigned limit = 256 - 256 % (unsigned)alen;
	unsigned char buf[64];

	while (i < n) {
		ssize_t got = getrandom(buf, sizeof(buf), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			fprintf(stderr, "fatal: no randomness available\n");
			abort();
		}
		for (ssize_t j = 0; j < got && i < n; j++)
			if (buf[j] < limit)
				out[i++] = alphabet[buf[j] % alen];
	}
	out[n] = '\0';
}

void auth_api_key_mint(char *out, size_t outlen, char *prefix, size_t prefixlen)
{
	char secret[AUTH_KEY_MINT_SECRET_LEN + 1];

	assert(outlen >= AUTH_KEY_MAX && prefixlen > AUTH_KEY_PREFIX_LEN);
	random_chars(prefix, AUTH_KEY_PREFIX_LEN, "abcdefghijklmnopqrstuvwxyz0123456789");
	random_chars(secret, AUTH_KEY_MINT_SECRET_LEN,
		     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
	snprintf(out, outlen, "rk_%s_%s", prefix, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
}
