/* Check tests for worker.c. Built twice (see README.md):
 *   check_worker        with mptest's guard: -DUSE_MPTEST_GUARD, linked
 *                       with libmptest; the buggy test fails through Check
 *   check_worker_plain  plain Check; run it under mpt-run instead */
#include <check.h>
#include <stdlib.h>

#ifdef USE_MPTEST_GUARD
#include <mptest-check.h>
#endif

#include "worker.h"

START_TEST(square_buggy_answers)
{
	ck_assert_int_eq(square_buggy(7), 49); /* right, and a zombie left */
}
END_TEST

START_TEST(square_fixed_answers)
{
	ck_assert_int_eq(square_fixed(7), 49);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("square");
#ifdef USE_MPTEST_GUARD
	mpt_check_guard(tc);
#endif
	tcase_add_test(tc, square_buggy_answers);
	tcase_add_test(tc, square_fixed_answers);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
