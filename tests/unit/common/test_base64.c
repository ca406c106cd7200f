/*
 * Unit tests for common/base64: the lenient decoder vendors' data needs
 * (padding optional, both alphabets) and the strict one JWS needs (no
 * padding, URL-safe alphabet only, one spelling per byte string).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "banned.h"

/* Decodes s and compares with want (NULL: must be refused). */
static void check_decode(const char *s, bool strict, bool url, const char *want)
{
	size_t n = 0;
	unsigned char *out = strict ? base64_decode_strict(s, strlen(s), &n) : base64_decode(s, strlen(s), url, &n);
	if (!want) {
		ck_assert_msg(out == NULL, "\"%s\" was accepted", s);
		return;
	}
	ck_assert_msg(out != NULL, "\"%s\" was refused", s);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_msg(memcmp(out, want, n) == 0, "\"%s\" decoded wrongly", s);
	free(out);
}

START_TEST(test_lenient)
{
	check_decode("aGk=", false, false, "hi");
	check_decode("aGk", false, false, "hi");
	check_decode("aGVsbG8gd29ybGQ=", false, false, "hello world");
	check_decode("-_8", false, true, "\xfb\xff");
	check_decode("+/8", false, false, "\xfb\xff");
	check_decode("+/8", false, true, NULL);   /* the other alphabet */
	check_decode("aGk*", false, false, NULL); /* a stray character */
	check_decode("a", false, false, NULL);    /* no byte ends in one character */
	check_decode("aGl", false, false, "hi");  /* non-canonical trailing bits are tolerated */
}
END_TEST

START_TEST(test_strict)
{
	check_decode("aGk", true, true, "hi");
	check_decode("", true, true, "");
	check_decode("-_8", true, true, "\xfb\xff");
	check_decode("aGk=", true, true, NULL); /* padding */
	check_decode("+/8", true, true, NULL);  /* the standard alphabet */
	check_decode("aG k", true, true, NULL); /* a space */
	check_decode("aGl", true, true, NULL);  /* trailing bits set: a second spelling of "hi" */
	check_decode("aGlk", true, true, "hid");
	check_decode("a", true, true, NULL);
}
END_TEST

START_TEST(test_round_trip)
{
	unsigned char data[256];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(data); len += 17) {
		char *text = base64_encode(data, len);
		size_t n = 0;
		unsigned char *back = base64_decode(text, strlen(text), false, &n);
		ck_assert_ptr_nonnull(back);
		ck_assert_uint_eq(n, len);
		ck_assert(memcmp(back, data, len) == 0);
		free(back);
		free(text);
	}
}
END_TEST

static Suite *base64_suite(void)
{
	Suite *s = suite_create("base64");
	TCase *tc = tcase_create("decode");
	tcase_add_test(tc, test_lenient);
	tcase_add_test(tc, test_strict);
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(base64_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
