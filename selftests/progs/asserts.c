/* The assertion macros as a user compiles them: this file is built with
 * -std=gnu11 -pedantic -Wall -Wextra -Wsign-compare -Werror (Makefile.am),
 * and check_runner compiles it again with each of gcc and clang found,
 * -std=c11 and gnu11. Signed and unsigned operands compare as numbers. */
#include <mptest.h>

#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every macro, with and without options. */
MPT_TEST(asserts, every_macro_pedantic)
{
	int fd[2];
	MPT_ASSERT_OK(pipe(fd));
	int r = MPT_ASSERT_OK(close(fd[0]));
	MPT_ASSERT_EQ(r, 0);
	MPT_ASSERT_OK(close(fd[1]));
	MPT_ASSERT(1);
	MPT_ASSERT_NE(1, 2);
	MPT_ASSERT_STR_EQ("a", "a");
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	mpt_wait_exited(p, 0);
}

MPT_TEST(asserts, with_options, .timeout_ms = 5000, .allow = MPT_ALLOW_FD_LEAK) {}

/* True as read, though C's conversions make each false. */
MPT_TEST(asserts, mixed_sign_true)
{
	int minus = -1;
	unsigned one = 1, max = UINT_MAX;
	long long lminus = -5;
	unsigned long long big = ULLONG_MAX;
	signed char c = -2;
	unsigned short us = 3;
	MPT_ASSERT_LT(minus, one);
	MPT_ASSERT_LE(minus, one);
	MPT_ASSERT_GT(one, minus);
	MPT_ASSERT_GE(one, minus);
	MPT_ASSERT_NE(minus, max);
	MPT_ASSERT_LT(lminus, big);
	MPT_ASSERT_NE(big, lminus);
	MPT_ASSERT_LT(c, us);
	MPT_ASSERT_LT(c, 0u);
	/* Same-sign and non-negative comparisons are C's own. */
	MPT_ASSERT_EQ(one, 1);
	MPT_ASSERT_LT(0, max);
	MPT_ASSERT_GE(big, 0);
}

/* C says -1 == UINT_MAX; the assertion says they differ. */
MPT_TEST(asserts, mixed_sign_eq_fails)
{
	int minus = -1;
	unsigned max = UINT_MAX;
	MPT_ASSERT_EQ(minus, max);
}

/* The failure message is true: -1 is not greater than 1. */
MPT_TEST(asserts, mixed_sign_gt_fails)
{
	int minus = -1;
	unsigned one = 1;
	MPT_ASSERT_GT(minus, one);
}
