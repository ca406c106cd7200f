/*
 * Unit tests for the share page and share tokens: every text is escaped
 * (in elements and in attributes), the OpenGraph and Twitter tags name the
 * absolute media URLs, the poster and subtitles appear only when the job has
 * them, and only well-formed tokens pass with a stable SHA-256.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "http_buf.h"
#include "share_page.h"
#include "shares.h"
#include "banned.h"

#define BASE "https://v.example/s/abc/"
#define REL "/s/abc/"

/* The page for v as a NUL-terminated string; the caller frees. */
static char *render(const struct share_view *v)
{
	struct http_buf b = { 0 };
	share_page_html(&b, v);
	http_buf_add(&b, "", 1);
	return b.p;
}

START_TEST(test_escape)
{
	struct http_buf b = { 0 };
	share_page_escape(&b, "a<b>&\"c'd");
	http_buf_add(&b, "", 1);
	ck_assert_str_eq(b.p, "a&lt;b&gt;&amp;&quot;c&#39;d");
	http_buf_reset(&b, 0);
}
END_TEST

START_TEST(test_page_escapes_title)
{
	const struct share_view v = {
		"\"><script>alert(1)</script>", "en\"x", "https://v.example/s/abc", BASE, REL, true, true
	};
	char *page = render(&v);
	ck_assert_ptr_null(strstr(page, "<script>"));
	ck_assert_ptr_null(strstr(page, "\"><"));
	ck_assert_ptr_nonnull(strstr(page, "<title>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
	ck_assert_ptr_nonnull(strstr(
		page, "<meta property=\"og:title\" content=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\">"));
	ck_assert_ptr_nonnull(strstr(page, "srclang=\"en&quot;x\""));
	free(page);
}
END_TEST

START_TEST(test_page_tags)
{
	const struct share_view v = { "Fox", "en", "https://v.example/s/abc", BASE, REL, true, true };
	char *page = render(&v);
	ck_assert_ptr_nonnull(strstr(page, "<meta property=\"og:video\" content=\"" BASE "video.mp4\">"));
	ck_assert_ptr_nonnull(strstr(page, "<meta property=\"og:image\" content=\"" BASE "poster.jpg\">"));
	ck_assert_ptr_nonnull(strstr(page, "<meta property=\"og:url\" content=\"https://v.example/s/abc\">"));
	ck_assert_ptr_nonnull(strstr(page, "<meta name=\"twitter:card\" content=\"summary_large_image\">"));
	ck_assert_ptr_nonnull(strstr(page, "src=\"" REL "video.mp4\" poster=\"" REL "poster.jpg\">"));
	ck_assert_ptr_nonnull(strstr(page, "<track kind=\"subtitles\" label=\"Subtitles\" default src=\"" REL
					   "subtitles.vtt\" srclang=\"en\">"));
	ck_assert_ptr_nonnull(strstr(page, "<h1>Fox</h1>"));
	free(page);
}
END_TEST

START_TEST(test_page_without_poster_or_subtitles)
{
	const struct share_view v = { "", "", "https://v.example/s/abc", BASE, REL, false, false };
	char *page = render(&v);
	ck_assert_ptr_null(strstr(page, "poster"));
	ck_assert_ptr_null(strstr(page, "og:image"));
	ck_assert_ptr_null(strstr(page, "<track"));
	ck_assert_ptr_nonnull(strstr(page, "<meta name=\"twitter:card\" content=\"summary\">"));
	ck_assert_ptr_nonnull(strstr(page, "<title>A reelforge video</title>"));
	free(page);
}
END_TEST

START_TEST(test_tokens)
{
	char hex[65];
	ck_assert(shares_token_ok("0123456789abcdef0123456789abcdef01234567"));
	ck_assert(!shares_token_ok("0123456789abcdef0123456789abcdef0123456"));   /* short */
	ck_assert(!shares_token_ok("0123456789abcdef0123456789abcdef012345678")); /* long */
	ck_assert(!shares_token_ok("0123456789ABCDEF0123456789abcdef01234567"));  /* upper case */
	ck_assert(!shares_token_ok("0123456789abcdef0123456789abcdef0123456/"));
	ck_assert(!shares_token_ok(""));
	shares_token_hash("abc", hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

static Suite *share_page_suite(void)
{
	Suite *s = suite_create("share_page");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_page_escapes_title);
	tcase_add_test(tc, test_page_tags);
	tcase_add_test(tc, test_page_without_poster_or_subtitles);
	tcase_add_test(tc, test_tokens);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(share_page_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
