/*
 * Unit tests for outbound webhooks: Standard Webhooks signatures against the
 * reference vector, whsec_ secrets with and without padding, webhook_url
 * parsing, the address ranges refused as private, resolution on a real
 * loop (literal addresses), and the retry backoff.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "webhook.h"
#include "webhook_send.h"
#include "banned.h"

#define VECTOR_SECRET "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="

START_TEST(test_reference_vector)
{
	unsigned char key[WEBHOOK_KEY_MAX];
	char why[160], sig[WEBHOOK_SIG_LEN];
	const char *body = "{\"id\":\"q8x2k\",\"status\":\"succeeded\"}";
	int n = webhook_sign_key(VECTOR_SECRET, key, sizeof(key), why, sizeof(why));
	ck_assert_int_eq(n, 32);
	for (int i = 0; i < 32; i++)
		ck_assert_int_eq(key[i], i + 1);
	webhook_sign(key, (size_t)n, "msg_sim_0001", 1735689600, body, strlen(body), sig);
	ck_assert_str_eq(sig, "v1,7fM8koRX8Cvnz9c9Tk2/8HSQhCIWoMDv82Ucs/WwPKY=");
	/* any change of id, time or body changes the signature */
	char other[WEBHOOK_SIG_LEN];
	webhook_sign(key, (size_t)n, "msg_sim_0002", 1735689600, body, strlen(body), other);
	ck_assert_str_ne(sig, other);
	webhook_sign(key, (size_t)n, "msg_sim_0001", 1735689601, body, strlen(body), other);
	ck_assert_str_ne(sig, other);
	webhook_sign(key, (size_t)n, "msg_sim_0001", 1735689600, body, strlen(body) - 1, other);
	ck_assert_str_ne(sig, other);
}
END_TEST

START_TEST(test_secrets)
{
	unsigned char key[WEBHOOK_KEY_MAX];
	char why[160] = "";
	/* without its padding the same key comes out */
	ck_assert_int_eq(webhook_sign_key("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA", key, sizeof(key), why,
					  sizeof(why)),
			 32);
	ck_assert_int_eq(key[31], 32);
	ck_assert_int_lt(webhook_sign_key("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", key, sizeof(key), why,
					  sizeof(why)),
			 0);
	ck_assert_ptr_nonnull(strstr(why, "whsec_"));
	ck_assert_int_lt(webhook_sign_key("whsec_", key, sizeof(key), why, sizeof(why)), 0);
	ck_assert_int_lt(webhook_sign_key("whsec_not base64!", key, sizeof(key), why, sizeof(why)), 0);
	ck_assert_int_lt(webhook_sign_key("whsec_AQID", key, sizeof(key), why, sizeof(why)), 0); /* 3 bytes */
	ck_assert_int_lt(webhook_sign_key(NULL, key, sizeof(key), why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_parse_urls)
{
	struct webhook_target t;
	char why[160];
	ck_assert_int_eq(webhook_addr_parse("https://hooks.example.com/a?b=c", &t, why, sizeof(why)), 0);
	ck_assert(t.https);
	ck_assert_str_eq(t.host, "hooks.example.com");
	ck_assert_int_eq(t.port, 443);
	ck_assert_int_eq(webhook_addr_parse("http://example.com:8080", &t, why, sizeof(why)), 0);
	ck_assert(!t.https);
	ck_assert_int_eq(t.port, 8080);
	ck_assert_int_eq(webhook_addr_parse("http://[2001:4860::1]:81/x", &t, why, sizeof(why)), 0);
	ck_assert_str_eq(t.host, "2001:4860::1");
	ck_assert_int_eq(t.port, 81);
	static const char *const bad[] = {
		"ftp://example.com/",
		"example.com/x",
		"http://",
		"http:///x",
		"http://user:pw@example.com/",
		"http://example.com:0/",
		"http://example.com:70000/",
		"http://example.com:8a/",
		"http://exa mple.com/",
		"http://[::1/",
		"http://[::1]x/",
		"http://ex\x01.com/",
		"http://caf\xc3\xa9.com/",
		"javascript:alert(1)",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(webhook_addr_parse(bad[i], &t, why, sizeof(why)) < 0, "%s accepted", bad[i]);
	char *huge = malloc(WEBHOOK_URL_MAX + 16);
	memcpy(huge, "http://a.com/", 13);
	memset(huge + 13, 'a', WEBHOOK_URL_MAX);
	huge[WEBHOOK_URL_MAX + 13] = '\0';
	ck_assert_int_lt(webhook_addr_parse(huge, &t, why, sizeof(why)), 0);
	free(huge);
}
END_TEST

static bool private4(const char *ip)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	return webhook_addr_private((struct sockaddr *)&sa);
}

static bool private6(const char *ip)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sa.sin6_addr), 1);
	return webhook_addr_private((struct sockaddr *)&sa);
}

START_TEST(test_private_ranges)
{
	static const char *const inside4[] = { "127.0.0.1",      "127.255.0.9", "10.0.0.1",        "172.16.0.1",
					       "172.31.255.254", "192.168.1.1", "169.254.169.254", "100.64.0.1",
					       "0.0.0.0",        "224.0.0.1",   "255.255.255.255", "198.18.0.1",
					       "192.0.2.5" };
	static const char *const outside4[] = { "8.8.8.8",     "1.1.1.1",       "172.32.0.1", "172.15.255.255",
						"100.128.0.1", "93.184.216.34", "11.0.0.1" };
	static const char *const inside6[] = { "::1",
					       "::",
					       "fe80::1",
					       "fc00::1",
					       "fd12:3456::1",
					       "ff02::1",
					       "::ffff:127.0.0.1",
					       "::ffff:10.1.2.3",
					       "64:ff9b::a9fe:a9fe",
					       "2001:db8::1" };
	static const char *const outside6[] = { "2001:4860:4860::8888", "2606:4700::1111", "::ffff:8.8.8.8" };
	for (size_t i = 0; i < ARRAY_SIZE(inside4); i++)
		ck_assert_msg(private4(inside4[i]), "%s let through", inside4[i]);
	for (size_t i = 0; i < ARRAY_SIZE(outside4); i++)
		ck_assert_msg(!private4(outside4[i]), "%s refused", outside4[i]);
	for (size_t i = 0; i < ARRAY_SIZE(inside6); i++)
		ck_assert_msg(private6(inside6[i]), "%s let through", inside6[i]);
	for (size_t i = 0; i < ARRAY_SIZE(outside6); i++)
		ck_assert_msg(!private6(outside6[i]), "%s refused", outside6[i]);
}
END_TEST

struct outcome {
	int calls;
	enum webhook_addr_result res;
	char ip[64];
};

static void on_result(void *arg, enum webhook_addr_result res, const char *ip, const char *why)
{
	struct outcome *o = arg;
	ck_assert_ptr_nonnull(why);
	o->calls++;
	o->res = res;
	str_copy(o->ip, ip ? ip : "", sizeof(o->ip));
}

static struct outcome resolve(const char *url, bool allow)
{
	uv_loop_t loop;
	struct outcome o = { 0 };
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	webhook_addr_resolve(&loop, url, allow, on_result, &o);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	ck_assert_int_eq(o.calls, 1);
	return o;
}

START_TEST(test_resolve)
{
	struct outcome o = resolve("http://127.0.0.1:9000/hook", false);
	ck_assert_int_eq(o.res, WEBHOOK_ADDR_REFUSED);
	o = resolve("http://127.0.0.1:9000/hook", true);
	ck_assert_int_eq(o.res, WEBHOOK_ADDR_OK);
	ck_assert_str_eq(o.ip, "127.0.0.1");
	o = resolve("https://[::ffff:169.254.169.254]/", false);
	ck_assert_int_eq(o.res, WEBHOOK_ADDR_REFUSED);
	o = resolve("https://93.184.216.34/", false);
	ck_assert_int_eq(o.res, WEBHOOK_ADDR_OK);
	ck_assert_str_eq(o.ip, "93.184.216.34");
	o = resolve("gopher://x/", true);
	ck_assert_int_eq(o.res, WEBHOOK_ADDR_REFUSED);
	o = resolve("http://no-such-host.invalid/", false);
	ck_assert_int_eq(o.res, WEBHOOK_ADDR_UNRESOLVED);
}
END_TEST

START_TEST(test_backoff)
{
	ck_assert_uint_eq(webhook_send_backoff_ms(5000, 1), 5000);
	ck_assert_uint_eq(webhook_send_backoff_ms(5000, 2), 10000);
	ck_assert_uint_eq(webhook_send_backoff_ms(5000, 5), 80000);
	ck_assert_uint_eq(webhook_send_backoff_ms(5000, 40), 3600000);
	ck_assert_uint_eq(webhook_send_backoff_ms(5000, 1000000), 3600000);
	/* a day of retries at the defaults is about thirty attempts, not thousands */
	uint64_t total = 0;
	long n = 0;
	while (total < 86400000ull)
		total += webhook_send_backoff_ms(5000, ++n);
	ck_assert_int_lt(n, 40);
	ck_assert_int_gt(n, 20);
}
END_TEST

static Suite *webhook_suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_reference_vector);
	tcase_add_test(tc, test_secrets);
	tcase_add_test(tc, test_parse_urls);
	tcase_add_test(tc, test_private_ranges);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_backoff);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(webhook_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
