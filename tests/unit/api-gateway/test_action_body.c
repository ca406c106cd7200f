/*
 * Unit tests for the bodies of job and shot actions: what is accepted, and
 * for each bad body the status, problem type and field named. ASan checks
 * that refusals leave nothing allocated.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "action_body.h"
#include "banned.h"

static void refused_with(int rc, const struct api_problem *p, int status, const char *type, const char *field)
{
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(p->status, status);
	ck_assert_str_eq(p->type, type);
	ck_assert_str_eq(p->field, field);
	ck_assert(p->detail[0] != '\0');
}

START_TEST(test_empty)
{
	struct api_problem p;
	ck_assert_int_eq(action_body_empty("", 0, &p), 0);
	ck_assert_int_eq(action_body_empty("{}", 2, &p), 0);
	ck_assert_int_eq(action_body_empty(" { } \n", 6, &p), 0);
	refused_with(action_body_empty("{\"force\":true}", 14, &p), &p, 422, "unknown-field", "force");
	refused_with(action_body_empty("[]", 2, &p), &p, 400, "invalid-json", "");
	refused_with(action_body_empty("{", 1, &p), &p, 400, "invalid-json", "");
}
END_TEST

static int patch(const char *s, struct action_edit *e, struct api_problem *p)
{
	return action_body_patch(s, strlen(s), e, p);
}

START_TEST(test_patch)
{
	struct action_edit e;
	struct api_problem p;
	ck_assert_int_eq(patch("{\"prompt\":\"a red fox, watercolor\"}", &e, &p), 0);
	ck_assert_str_eq(e.prompt, "a red fox, watercolor");
	ck_assert_ptr_null(e.narration);
	free(e.prompt);
	ck_assert_int_eq(patch("{\"prompt\":\"p\",\"narration\":\"n\"}", &e, &p), 0);
	ck_assert_str_eq(e.narration, "n");
	free(e.prompt);
	free(e.narration);
	refused_with(patch("{}", &e, &p), &p, 422, "invalid-field", "prompt");
	refused_with(patch("{\"speaker\":\"ANNA\"}", &e, &p), &p, 422, "unknown-field", "speaker");
	refused_with(patch("{\"prompt\":5}", &e, &p), &p, 422, "invalid-field", "prompt");
	refused_with(patch("{\"prompt\":\"ok\",\"narration\":\"  \"}", &e, &p), &p, 422, "invalid-field", "narration");
	ck_assert_ptr_null(e.prompt);
}
END_TEST

static int approve(const char *s, struct action_edit **e, size_t *n, struct api_problem *p)
{
	return action_body_approve(s, strlen(s), e, n, p);
}

START_TEST(test_approve)
{
	struct action_edit *e;
	struct api_problem p;
	size_t n;
	ck_assert_int_eq(approve("{}", &e, &n, &p), 0);
	ck_assert_uint_eq(n, 0);
	action_body_free_edits(e, n);
	ck_assert_int_eq(approve("{\"shots\":[{\"index\":0,\"prompt\":\"p0\"},{\"index\":3,\"narration\":\"n3\"}]}", &e,
				 &n, &p),
			 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(e[0].index, 0);
	ck_assert_str_eq(e[0].prompt, "p0");
	ck_assert_int_eq(e[1].index, 3);
	ck_assert_str_eq(e[1].narration, "n3");
	action_body_free_edits(e, n);
}
END_TEST

START_TEST(test_approve_bad)
{
	struct action_edit *e;
	struct api_problem p;
	size_t n;
	refused_with(approve("{\"shots\":{}}", &e, &n, &p), &p, 422, "invalid-field", "shots");
	refused_with(approve("{\"shots\":[5]}", &e, &n, &p), &p, 422, "invalid-field", "shots[0]");
	refused_with(approve("{\"shots\":[{\"prompt\":\"p\"}]}", &e, &n, &p), &p, 422, "invalid-field",
		     "shots[0].index");
	refused_with(approve("{\"shots\":[{\"index\":-1}]}", &e, &n, &p), &p, 422, "invalid-field", "shots[0].index");
	refused_with(approve("{\"shots\":[{\"index\":1.5}]}", &e, &n, &p), &p, 422, "invalid-field", "shots[0].index");
	refused_with(approve("{\"shots\":[{\"index\":0,\"prompt\":\"a\"},{\"index\":0,\"prompt\":\"b\"}]}", &e, &n, &p),
		     &p, 422, "invalid-field", "shots[1].index");
	refused_with(approve("{\"shots\":[{\"index\":0,\"prompt\":\"a\"},{\"index\":1,\"camera\":\"pan\"}]}", &e, &n,
			     &p),
		     &p, 422, "unknown-field", "shots[1].camera");
	refused_with(approve("{\"shots\":[{\"index\":0,\"prompt\":\"a\",\"narration\":7}]}", &e, &n, &p), &p, 422,
		     "invalid-field", "shots[0].narration");
	refused_with(approve("{\"shot\":[]}", &e, &n, &p), &p, 422, "unknown-field", "shot");
	ck_assert_ptr_null(e);
	ck_assert_uint_eq(n, 0);
}
END_TEST

static Suite *action_body_suite(void)
{
	Suite *s = suite_create("action_body");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_patch);
	tcase_add_test(tc, test_approve);
	tcase_add_test(tc, test_approve_bad);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(action_body_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
