/*
 * JWKS keys become EVP_PKEYs once, at load; every byte of the file is
 * untrusted: sizes are bounded, members are strict base64url, and a key
 * OpenSSL's public check refuses is refused.
 */
#include "auth_jwks.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "base64.h"
#include "errbuf.h"
#include "json.h"
#include "util.h"
#include "banned.h"

#define JWKS_FILE_MAX (1024 * 1024)
#define JWKS_KEYS_MAX 64
#define KID_MAX 256
#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 8192 /* bounds what one verification can cost */

struct jwk {
	char *kid; /* NULL when the key has none */
	enum auth_jwks_type type;
	EVP_PKEY *pkey; /* owned */
};

struct auth_jwks {
	struct jwk *keys;
	size_t nkeys;
};

static unsigned char *jwk_bytes(const cJSON *k, const char *name, size_t *len)
{
	const char *s = json_str(k, name);
	return s ? base64_decode_strict(s, strlen(s), len) : NULL;
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
		errbuf_set(err, errlen, "RSA modulus of %d bits; %d to %d accepted", bits, RSA_BITS_MIN, RSA_BITS_MAX);
	} else {
		if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			pkey = pkey_from("RSA", bld);
		if (!pkey)
			errbuf_set(err, errlen, "OpenSSL refuses the RSA public key (n, e)");
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
		errbuf_set(err, errlen, "RSA key needs base64url members n and e");
	else if (!(bn = BN_bin2bn(n, (int)nlen, NULL)) || !(be = BN_bin2bn(e, (int)elen, NULL)))
		errbuf_set(err, errlen, "out of memory for RSA numbers");
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
		errbuf_set(err, errlen, "P-256 key needs base64url members x and y of 32 bytes each");
		goto out;
	}
	point[0] = 0x04; /* uncompressed SEC1 point: 04 || x || y */
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) ||
	    !(pkey = pkey_from("EC", bld)))
		errbuf_set(err, errlen, "x, y is not a point of P-256");
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
		type = AUTH_JWKS_RSA;
	else if (strcmp(kty, "EC") == 0 && crv && strcmp(crv, "P-256") == 0)
		type = AUTH_JWKS_EC;
	else
		return -1;
	if (use && strcmp(use, "sig") != 0)
		return -1;
	if (alg && strcmp(alg, type == AUTH_JWKS_RSA ? "RS256" : "ES256") != 0)
		return -1;
	return type;
}

static int load_key(struct auth_jwks *a, const cJSON *k, char *err, size_t errlen)
{
	const cJSON *kid = cJSON_GetObjectItemCaseSensitive(k, "kid");
	EVP_PKEY *pkey;
	int type;

	if (!cJSON_IsObject(k) || !json_str(k, "kty"))
		return errbuf_set(err, errlen, "not an object with a kty string");
	/* Verification needs none of it; its presence means a secret was published. */
	if (cJSON_GetObjectItemCaseSensitive(k, "d"))
		return errbuf_set(err, errlen, "holds private key material (d); the file must list public keys only");
	if (kid && (!cJSON_IsString(kid) || !*kid->valuestring || strlen(kid->valuestring) >= KID_MAX))
		return errbuf_set(err, errlen, "kid is not a string of 1 to %d bytes", KID_MAX - 1);
	type = usable_type(k);
	if (type < 0)
		return 0;
	pkey = type == AUTH_JWKS_RSA ? rsa_key(k, err, errlen) : ec_key(k, err, errlen);
	if (!pkey)
		return -1;
	a->keys[a->nkeys++] = (struct jwk){
		.kid = kid ? xstrdup(kid->valuestring) : NULL,
		.type = type,
		.pkey = pkey,
	};
	return 0;
}

static int load_keys(struct auth_jwks *a, const cJSON *keys, const char *path, char *err, size_t errlen)
{
	const cJSON *k;
	char why[200];
	size_t i = 0;

	a->keys = xcalloc((size_t)cJSON_GetArraySize(keys) + 1, sizeof(*a->keys));
	cJSON_ArrayForEach (k, keys) {
		if (load_key(a, k, why, sizeof(why)) < 0)
			return errbuf_set(err, errlen, "JWKS file %s: keys[%zu]: %s", path, i, why);
		i++;
	}
	if (a->nkeys == 0)
		return errbuf_set(err, errlen, "JWKS file %s: no RS256 or ES256 (P-256) signing key", path);
	return 0;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int failed;

	if (!f) {
		errbuf_set(err, errlen, "JWKS file %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(JWKS_FILE_MAX + 1);
	n = fread(buf, 1, JWKS_FILE_MAX + 1, f);
	failed = ferror(f);
	fclose(f);
	if (failed || n > JWKS_FILE_MAX) {
		errbuf_set(err, errlen, "JWKS file %s: %s", path, failed ? "unreadable" : "larger than 1 MiB");
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int load_jwks(struct auth_jwks *a, const char *path, char *err, size_t errlen)
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
		rc = errbuf_set(err, errlen, "JWKS file %s: not JSON of the form {\"keys\":[...]}", path);
	else if (cJSON_GetArraySize(keys) > JWKS_KEYS_MAX)
		rc = errbuf_set(err, errlen, "JWKS file %s: more than %d keys", path, JWKS_KEYS_MAX);
	else
		rc = load_keys(a, keys, path, err, errlen);
	cJSON_Delete(root);
	return rc;
}

struct auth_jwks *auth_jwks_load(const char *path, char *err, size_t errlen)
{
	struct auth_jwks *ks = xcalloc(1, sizeof(*ks));

	if (load_jwks(ks, path, err, errlen) < 0) {
		auth_jwks_free(ks);
		return NULL;
	}
	return ks;
}

void auth_jwks_free(struct auth_jwks *ks)
{
	if (!ks)
		return;
	for (size_t i = 0; i < ks->nkeys; i++) {
		free(ks->keys[i].kid);
		EVP_PKEY_free(ks->keys[i].pkey);
	}
	free(ks->keys);
	free(ks);
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

	if (k->type == AUTH_JWKS_EC) {
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

int auth_jwks_verify(const struct auth_jwks *ks, const char *kid, enum auth_jwks_type type, const char *input,
		     size_t inlen, const unsigned char *sig, size_t siglen)
{
	size_t tried = 0;

	for (size_t i = 0; ks && i < ks->nkeys; i++) {
		const struct jwk *k = &ks->keys[i];
		if (k->type != type || (kid && (!k->kid || strcmp(k->kid, kid) != 0)))
			continue;
		tried++;
		if (verify_pkey(k, input, inlen, sig, siglen))
			return 1;
	}
	return tried ? 0 : -1;
}
