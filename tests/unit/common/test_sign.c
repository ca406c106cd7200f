/*
 * Unit tests for signed download URLs: a URL checks out with the secret that
 * made it, and any change to its key, expiry, signature or secret, a past
 * expiry or a malformed part is refused with the reason; keys are encoded per
 * segment; the signature matches an independent HMAC-SHA256 computation.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sign.h"
#include "str.h"
#include "banned.h"

#define SECRET "s3cret-for-tests"
#define NOW ((time_t)1700000000)

/* Splits a URL made by sign_file_url into its path, exp and sig (all into buf). */
struct parts {
	char buf[1024];
	char *path, *exp, *sig;
};

static void split(const char *url, struct parts *p)
{
	char *q;
	ck_assert_uint_lt(strlen(url), sizeof(p->buf));
	str_copy(p->buf, url, sizeof(p->buf));
	q = strchr(p->buf, '?');
	ck_assert_ptr_nonnull(q);
	*q++ = '\0';
	p->path = p->buf;
	ck_assert_msg(!strncmp(q, "exp=", 4), "query %s", q);
	p->exp = q + 4;
	q = strchr(p->exp, '&');
	ck_assert_ptr_nonnull(q);
	*q++ = '\0';
	ck_assert_msg(!strncmp(q, "sig=", 4), "query %s", q);
	p->sig = q + 4;
}

static int check(const char *secret, const char *key, const char *exp, const char *sig, time_t now, char *why,
		 size_t whylen)
{
	why[0] = '\0';
	return sign_check(secret, key, exp, sig, now, why, whylen);
}

START_TEST(test_round_trip)
{
	char *url = sign_file_url(SECRET, "/v1/files", "jobs/abc/final.mp4", NOW + 3600);
	char sig[SIGN_HEX_LEN + 1], *want;

	sign_compute(SECRET, "jobs/abc/final.mp4", "1700003600", sig);
	want = xasprintf("/v1/files/jobs/abc/final.mp4?exp=1700003600&sig=%s", sig);
	ck_assert_str_eq(url, want);
	for (const char *c = sig; *c; c++)
		ck_assert_msg((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'), "sig %s", sig);
	free(want);
	free(url);
}
END_TEST

START_TEST(test_round_trip_checks)
{
	char *url = sign_file_url(SECRET, "http://gw:8080/v1/files/", "jobs/abc/final.mp4", NOW + 3600);
	char why[128];
	struct parts p;

	split(url, &p);
	ck_assert_str_eq(p.path, "http://gw:8080/v1/files/jobs/abc/final.mp4");
	ck_assert_str_eq(p.exp, "1700003600");
	ck_assert_uint_eq(strlen(p.sig), SIGN_HEX_LEN);
	ck_assert_int_eq(check(SECRET, "jobs/abc/final.mp4", p.exp, p.sig, NOW, why, sizeof(why)), 0);
	/* valid up to and including exp itself */
	ck_assert_int_eq(check(SECRET, "jobs/abc/final.mp4", p.exp, p.sig, NOW + 3600, why, sizeof(why)), 0);
	free(url);
}
END_TEST

START_TEST(test_matches_independent_hmac)
{
	const char *msg = "reel-file-v1\njobs/1/a.jpg\n1700000000";
	unsigned char m[32];
	unsigned int len = 0;
	char want[65], got[SIGN_HEX_LEN + 1];

	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), "k", 1, (const unsigned char *)msg, strlen(msg), m, &len));
	ck_assert_uint_eq(len, 32);
	for (int i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", m[i]);
	sign_compute("k", "jobs/1/a.jpg", "1700000000", got);
	ck_assert_str_eq(got, want);
	/* uppercase hex is the same signature */
	for (char *c = want; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	ck_assert_int_eq(sign_check("k", "jobs/1/a.jpg", "1700000000", want, NOW, NULL, 0), 0);
}
END_TEST

START_TEST(test_tampered)
{
	char sig[SIGN_HEX_LEN + 1], why[128];

	sign_compute(SECRET, "jobs/a/x.mp4", "1700003600", sig);
	ck_assert_int_eq(check(SECRET, "jobs/a/y.mp4", "1700003600", sig, NOW, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "bad signature");
	ck_assert_int_eq(check(SECRET, "jobs/a/x.mp4", "1700007200", sig, NOW, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "bad signature");
	/* leading zeros are another exp text, not the signed one */
	ck_assert_int_eq(check(SECRET, "jobs/a/x.mp4", "01700003600", sig, NOW, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "bad signature");
	for (int i = 0; i < SIGN_HEX_LEN; i += 13) {
		char t[SIGN_HEX_LEN + 1];
		str_copy(t, sig, sizeof(t));
		t[i] = t[i] == '0' ? '1' : '0';
		ck_assert_int_eq(check(SECRET, "jobs/a/x.mp4", "1700003600", t, NOW, why, sizeof(why)), -1);
		ck_assert_str_eq(why, "bad signature");
	}
	ck_assert_int_eq(check("other-secret", "jobs/a/x.mp4", "1700003600", sig, NOW, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "bad signature");
	ck_assert_int_eq(check(SECRET, "jobs/a/x.mp4", "1700003600", sig, NOW, why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_key_exp_boundary_unambiguous)
{
	char sig[SIGN_HEX_LEN + 1], why[128];

	/* "a\n1" + exp "2" must not pass as key "a" with exp "1\n2" or similar shifts */
	sign_compute(SECRET, "a1", "2", sig);
	ck_assert_int_eq(check(SECRET, "a", "12", sig, 0, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "bad signature");
}
END_TEST

START_TEST(test_expired)
{
	char *url = sign_file_url(SECRET, "/v1/files", "k.mp4", NOW - 1);
	char why[128];
	struct parts p;

	split(url, &p);
	ck_assert_int_eq(check(SECRET, "k.mp4", p.exp, p.sig, NOW, why, sizeof(why)), -1);
	ck_assert_msg(!strncmp(why, "expired", 7), "why: %s", why);
	/* a forged sig on an expired URL is a bad signature, not "expired" */
	ck_assert_int_eq(check(SECRET, "k.mp4", p.exp,
			       "00000000000000000000000000000000"
			       "00000000000000000000000000000000",
			       NOW, why, sizeof(why)),
			 -1);
	ck_assert_str_eq(why, "bad signature");
	free(url);
}
END_TEST

START_TEST(test_malformed)
{
	char sig[SIGN_HEX_LEN + 1], bad[SIGN_HEX_LEN + 2], why[128];
	static const char *bad_exps[] = { "",     "-1",   "+1700003600",         " 1700003600", "1700003600 ",
					  "17e8", "0x10", "1234567890123456789", "1700003600\n" };

	sign_compute(SECRET, "k", "1700003600", sig);
	for (size_t i = 0; i < sizeof(bad_exps) / sizeof(bad_exps[0]); i++) {
		ck_assert_int_eq(check(SECRET, "k", bad_exps[i], sig, NOW, why, sizeof(why)), -1);
		ck_assert_msg(!strncmp(why, "malformed exp", 13), "exp '%s' why: %s", bad_exps[i], why);
	}
	str_copy(bad, sig, sizeof(bad));
	bad[5] = 'g';
	ck_assert_int_eq(check(SECRET, "k", "1700003600", bad, NOW, why, sizeof(why)), -1);
	ck_assert_msg(!strncmp(why, "malformed sig", 13), "why: %s", why);
	str_copy(bad, sig, SIGN_HEX_LEN); /* 63 digits */
	ck_assert_int_eq(check(SECRET, "k", "1700003600", bad, NOW, why, sizeof(why)), -1);
	ck_assert_msg(!strncmp(why, "malformed sig", 13), "why: %s", why);
	str_copy(bad, sig, sizeof(bad));
	bad[SIGN_HEX_LEN] = 'a';
	bad[SIGN_HEX_LEN + 1] = '\0';
	ck_assert_int_eq(check(SECRET, "k", "1700003600", bad, NOW, why, sizeof(why)), -1);
	ck_assert_msg(!strncmp(why, "malformed sig", 13), "why: %s", why);
	ck_assert_int_eq(check(SECRET, "k", "1700003600", "", NOW, why, sizeof(why)), -1);
	ck_assert_int_eq(check(SECRET, "k", NULL, sig, NOW, why, sizeof(why)), -1);
	ck_assert_msg(!strncmp(why, "malformed", 9), "why: %s", why);
	ck_assert_int_eq(check(SECRET, "k", "1700003600", NULL, NOW, why, sizeof(why)), -1);
	ck_assert_msg(!strncmp(why, "malformed", 9), "why: %s", why);
	ck_assert_int_eq(check(SECRET, NULL, "1700003600", sig, NOW, why, sizeof(why)), -1);
	ck_assert_int_eq(check(SECRET, "k", "1700003600", sig, NOW, why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_no_secret)
{
	char sig[SIGN_HEX_LEN + 1], why[128];

	sign_compute("", "k", "1700003600", sig);
	ck_assert_int_eq(check("", "k", "1700003600", sig, NOW, why, sizeof(why)), -1);
	ck_assert_msg(!strncmp(why, "no secret", 9), "why: %s", why);
	ck_assert_int_eq(check(NULL, "k", "1700003600", sig, NOW, why, sizeof(why)), -1);
	ck_assert_msg(!strncmp(why, "no secret", 9), "why: %s", why);
}
END_TEST

START_TEST(test_encode_key)
{
	char *e;

	e = sign_encode_key("jobs/ab-1_2.~x/final.mp4");
	ck_assert_str_eq(e, "jobs/ab-1_2.~x/final.mp4");
	free(e);
	e = sign_encode_key("jobs/my clip/a?b#c%d&e=f+g.mp4");
	ck_assert_str_eq(e, "jobs/my%20clip/a%3Fb%23c%25d%26e%3Df%2Bg.mp4");
	free(e);
	e = sign_encode_key("jobs/caf\xc3\xa9/\xe6\x97\xa5.jpg");
	ck_assert_str_eq(e, "jobs/caf%C3%A9/%E6%97%A5.jpg");
	free(e);
	e = sign_encode_key("");
	ck_assert_str_eq(e, "");
	free(e);
}
END_TEST

START_TEST(test_url_of_odd_key_checks)
{
	const char *key = "jobs/my clip/caf\xc3\xa9 #1.mp4";
	char *url = sign_file_url(SECRET, "/v1/files", key, NOW + 60);
	char why[128];
	struct parts p;

	split(url, &p);
	ck_assert_str_eq(p.path, "/v1/files/jobs/my%20clip/caf%C3%A9%20%231.mp4");
	/* the signature covers the decoded key, as the route hands it over */
	ck_assert_int_eq(check(SECRET, key, p.exp, p.sig, NOW, why, sizeof(why)), 0);
	ck_assert_int_eq(check(SECRET, "jobs/my%20clip/caf%C3%A9%20%231.mp4", p.exp, p.sig, NOW, why, sizeof(why)), -1);
	free(url);
}
END_TEST

START_TEST(test_expiry_rounding)
{
	time_t e = sign_expiry(NOW, SIGN_DEFAULT_TTL);

	ck_assert_int_ge(e, NOW + SIGN_DEFAULT_TTL);
	ck_assert_int_lt(e, NOW + SIGN_DEFAULT_TTL + SIGN_EXP_STEP);
	ck_assert_int_eq(e % SIGN_EXP_STEP, 0);
	/* a few seconds later the URL is the same, so caches keep working */
	ck_assert_int_eq(sign_expiry(NOW + 7, SIGN_DEFAULT_TTL), e);
	ck_assert_int_eq(sign_expiry(1200, 300), 1500);
	ck_assert_int_eq(sign_expiry(1201, 300), 1800);
}
END_TEST

/* The hex HMAC of payment webhooks: RFC 4231 test case 2, and the constant-time hex comparison. */
START_TEST(test_hmac_hex)
{
	static const char want[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	char out[SIGN_HEX_LEN + 1];
	sign_hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, out);
	ck_assert_str_eq(out, want);
	ck_assert(sign_hex_equal(want, want, SIGN_HEX_LEN));
	ck_assert(
		sign_hex_equal(want, "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843", SIGN_HEX_LEN));
	ck_assert(!sign_hex_equal(want, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3842",
				  SIGN_HEX_LEN));
	ck_assert(!sign_hex_equal(want, want, SIGN_HEX_LEN - 2));
	ck_assert(!sign_hex_equal(want, "zzdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
				  SIGN_HEX_LEN));
}
END_TEST

static Suite *sign_suite(void)
{
	Suite *s = suite_create("sign");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_round_trip_checks);
	tcase_add_test(tc, test_matches_independent_hmac);
	tcase_add_test(tc, test_tampered);
	tcase_add_test(tc, test_key_exp_boundary_unambiguous);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_no_secret);
	tcase_add_test(tc, test_encode_key);
	tcase_add_test(tc, test_url_of_odd_key_checks);
	tcase_add_test(tc, test_expiry_rounding);
	tcase_add_test(tc, test_hmac_hex);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sign_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
