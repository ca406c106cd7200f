/*
 * Unit tests for the cJSON helpers: parsing exactly len bytes (buffers with
 * no NUL, trailing white space and garbage), typed member access (strings,
 * whole numbers and what is not one) and compact printing.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "banned.h"

/* A heap copy of s without its NUL, so ASan sees any read past len. */
static char *exact(const char *s, size_t len)
{
	char *b = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(b);
	memcpy(b, s, len);
	return b;
}

static cJSON *parse_exact(const char *s)
{
	size_t len = strlen(s);
	char *b = exact(s, len);
	cJSON *j = json_parse(b, len);
	free(b);
	return j;
}

START_TEST(test_parse_object)
{
	cJSON *j = parse_exact("{\"a\":1,\"b\":\"x\"}");
	ck_assert_ptr_nonnull(j);
	ck_assert(cJSON_IsObject(j));
	ck_assert_str_eq(json_str(j, "b"), "x");
	cJSON_Delete(j);
}
END_TEST

START_TEST(test_trailing_whitespace_ok)
{
	static const char *const ok[] = { "{} ",  "{}\n",    "{}\r\n", "{}\t \n ", "  {\"a\":[1,2]}  \n",
					  "[1] ", "\"s\"\n", "42 " };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		cJSON *j = parse_exact(ok[i]);
		ck_assert_msg(j != NULL, "rejected '%s'", ok[i]);
		cJSON_Delete(j);
	}
}
END_TEST

START_TEST(test_trailing_garbage_rejected)
{
	static const char *const bad[] = { "{}x",        "{} x", "{}{}", "{}\n{}",    "[1]]",
					   "{\"a\":1}}", "1 2",  "{},",  "\"a\"\"b\"" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(parse_exact(bad[i]) == NULL, "accepted '%s'", bad[i]);
}
END_TEST

/* JSON is UTF-8: broken sequences, overlong forms, surrogates, code points
 * past U+10FFFF and NUL (raw or \u0000) are refused; real text passes. */
START_TEST(test_utf8_and_nul)
{
	static const char *const bad[] = { "\"caf\xe9\"",      "\"\xff\"",         "\"\xc0\xaf\"",
					   "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
					   "\"\xe4\xb8\"",     "\"a\\u0000b\"",    "{\"\\u0000\":1}" };
	static const char *const good[] = { "\"caf\xc3\xa9\"", "\"\xe5\xb0\x8f\xe9\x95\x87\"", "\"\xf0\x9f\x8e\xac\"",
					    "\"\\\\u0000\"", "\"\\u0041\"" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(parse_exact(bad[i]) == NULL, "accepted bad #%zu", i);
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		cJSON *j = parse_exact(good[i]);
		ck_assert_msg(j != NULL, "refused good #%zu", i);
		cJSON_Delete(j);
	}
	char *b = exact("\"a\0b\"", 5);
	ck_assert_ptr_null(json_parse(b, 5));
	free(b);
	ck_assert(json_utf8_valid("", 0));
	ck_assert(!json_utf8_valid("\xc3", 1));
}
END_TEST

START_TEST(test_malformed_rejected)
{
	static const char *const bad[] = { "{",   "}",     "{\"a\":}", "{\"a\" 1}", "[1,", "nul",
					   "tru", "\"abc", "{'a':1}",  "-",         "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(parse_exact(bad[i]) == NULL, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_exact_length_no_nul)
{
	/* The buffer continues past len; only the first len bytes count. */
	static const char text[] = "{\"k\":\"v\"}GARBAGE";
	size_t len = strlen("{\"k\":\"v\"}");
	char *b = exact(text, sizeof(text) - 1);
	cJSON *j = json_parse(b, len);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_str(j, "k"), "v");
	cJSON_Delete(j);
	/* The whole buffer (garbage included) is refused. */
	ck_assert_ptr_null(json_parse(b, sizeof(text) - 1));
	free(b);

	/* Values that end at the very last byte, with nothing after them in memory. */
	static const char *const tails[] = {
		"123", "-1.5e3", "true", "false", "null", "\"str\"", "[1,2]", "{\"a\":{}}"
	};
	for (size_t i = 0; i < ARRAY_SIZE(tails); i++) {
		cJSON *t = parse_exact(tails[i]);
		ck_assert_msg(t != NULL, "rejected '%s'", tails[i]);
		cJSON_Delete(t);
	}
	/* Cut short inside a value. */
	b = exact("{\"k\":\"value\"}", 8);
	ck_assert_ptr_null(json_parse(b, 8));
	free(b);
	b = exact("12345", 3);
	j = json_parse(b, 3);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq((int)cJSON_GetNumberValue(j), 123);
	cJSON_Delete(j);
	free(b);
}
END_TEST

/* len covers a NUL followed by more bytes: those bytes are part of the input
 * and are not white space, so the input is not one JSON value. */
START_TEST(test_embedded_nul_then_garbage_rejected)
{
	static const char text[] = "{\"a\":1}\0{\"evil\":true}";
	char *b = exact(text, sizeof(text) - 1);
	cJSON *j = json_parse(b, sizeof(text) - 1);
	free(b);
	ck_assert_msg(j == NULL, "accepted a body with a NUL and more bytes after the value");
	cJSON_Delete(j);
}
END_TEST

START_TEST(test_empty)
{
	char one = ' ';
	ck_assert_ptr_null(json_parse("", 0));
	ck_assert_ptr_null(json_parse(&one, 1));
}
END_TEST

START_TEST(test_json_str)
{
	cJSON *j = parse_exact(
		"{\"s\":\"hello\",\"e\":\"\",\"n\":5,\"z\":null,\"o\":{},\"a\":[\"x\"],\"S\":\"upper\"}");
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_str(j, "s"), "hello");
	ck_assert_str_eq(json_str(j, "e"), "");
	ck_assert_ptr_null(json_str(j, "n"));
	ck_assert_ptr_null(json_str(j, "z"));
	ck_assert_ptr_null(json_str(j, "o"));
	ck_assert_ptr_null(json_str(j, "a"));
	ck_assert_ptr_null(json_str(j, "missing"));
	ck_assert_str_eq(json_str(j, "S"), "upper"); /* case-sensitive lookup */
	cJSON_Delete(j);
}
END_TEST

START_TEST(test_json_int)
{
	cJSON *j = parse_exact("{\"a\":42,\"neg\":-7,\"zero\":0,\"f\":1.5,\"whole\":3.0,\"exp\":1e3,"
			       "\"huge\":1e20,\"big\":9000000000000000,\"s\":\"3\",\"b\":true,\"z\":null,"
			       "\"nf\":-0.25}");
	long n = -99;
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_int(j, "a", &n), 0);
	ck_assert_int_eq(n, 42);
	ck_assert_int_eq(json_int(j, "neg", &n), 0);
	ck_assert_int_eq(n, -7);
	ck_assert_int_eq(json_int(j, "zero", &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(json_int(j, "whole", &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(json_int(j, "exp", &n), 0);
	ck_assert_int_eq(n, 1000);
	ck_assert_int_eq(json_int(j, "big", &n), 0);
	ck_assert_int_eq(n, 9000000000000000L);

	n = 12345;
	ck_assert_int_eq(json_int(j, "f", &n), -1);
	ck_assert_int_eq(json_int(j, "nf", &n), -1);
	ck_assert_int_eq(json_int(j, "huge", &n), -1);
	ck_assert_int_eq(json_int(j, "s", &n), -1);
	ck_assert_int_eq(json_int(j, "b", &n), -1);
	ck_assert_int_eq(json_int(j, "z", &n), -1);
	ck_assert_int_eq(json_int(j, "missing", &n), -1);
	ck_assert_int_eq(n, 12345); /* untouched on failure */
	cJSON_Delete(j);
}
END_TEST

START_TEST(test_json_int_huge_negative)
{
	cJSON *j = parse_exact("{\"h\":-1e300,\"p\":1e300}");
	long n = 5;
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_int(j, "h", &n), -1);
	ck_assert_int_eq(json_int(j, "p", &n), -1);
	ck_assert_int_eq(n, 5);
	cJSON_Delete(j);
}
END_TEST

START_TEST(test_json_print)
{
	cJSON *o = cJSON_CreateObject();
	char *s;
	cJSON_AddStringToObject(o, "a", "x\"y");
	cJSON_AddNumberToObject(o, "n", 3);
	cJSON_AddItemToObject(o, "l", cJSON_CreateIntArray((const int[]){ 1, 2 }, 2));
	cJSON_AddNullToObject(o, "z");
	s = json_print(o);
	ck_assert_str_eq(s, "{\"a\":\"x\\\"y\",\"n\":3,\"l\":[1,2],\"z\":null}");

	/* What it prints parses back to an equal value. */
	cJSON *back = json_parse(s, strlen(s));
	ck_assert_ptr_nonnull(back);
	ck_assert(cJSON_Compare(o, back, 1));
	cJSON_Delete(back);
	free(s);
	cJSON_Delete(o);
}
END_TEST

START_TEST(test_json_at)
{
	const char *text = "{\"a\":{\"b\":[{\"c\":\"x\"},{\"c\":7}]},\"s\":\"t\"}";
	cJSON *o = json_parse(text, strlen(text));
	ck_assert_str_eq(json_at_str(o, "a.b.0.c"), "x");
	ck_assert(cJSON_IsNumber(json_at(o, "a.b.1.c")));
	ck_assert_ptr_null(json_at_str(o, "a.b.1.c")); /* not a string */
	ck_assert_ptr_null(json_at(o, "a.b.2.c"));     /* past the array */
	ck_assert_ptr_null(json_at(o, "s.x"));         /* into a string */
	ck_assert_ptr_null(json_at(o, "a.b.c"));       /* a name into an array */
	ck_assert_ptr_null(json_at(NULL, "a"));
	ck_assert_str_eq(json_at_str(o, "s"), "t");
	cJSON_Delete(o);
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_parse_object);
	tcase_add_test(tc, test_trailing_whitespace_ok);
	tcase_add_test(tc, test_trailing_garbage_rejected);
	tcase_add_test(tc, test_malformed_rejected);
	tcase_add_test(tc, test_utf8_and_nul);
	tcase_add_test(tc, test_exact_length_no_nul);
	tcase_add_test(tc, test_embedded_nul_then_garbage_rejected);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_json_str);
	tcase_add_test(tc, test_json_int);
	tcase_add_test(tc, test_json_int_huge_negative);
	tcase_add_test(tc, test_json_print);
	tcase_add_test(tc, test_json_at);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(json_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
