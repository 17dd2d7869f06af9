/* Written only from DESIGN §4, built against an installed mptest with
 * $(pkg-config --cflags --libs mptest): every verdict the contract names. */
#include <mptest.h>

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

MPT_TEST(design, pass) { MPT_ASSERT_EQ(1 + 1, 2); }

MPT_TEST(design, failed_assertion) { MPT_ASSERT_NE(2, 2); }

MPT_TEST(design, crash) { raise(SIGBUS); }

MPT_TEST(design, fork_child_assertion)
{
	if (fork() == 0) {
		MPT_ASSERT_STR_EQ("child", "parent");
		_exit(0);
	}
	wait(NULL);
}

MPT_TEST(design, timeout, .timeout_ms = 200) { for (;;) sleep(1); }

MPT_TEST(design, wait_exited_success)
{
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0)
		_exit(5);
	mpt_wait_exited(p, 5);
}

MPT_TEST(design, junk_output)
{
	printf("\x01\x02\x1b]]>\xc3\x28 done\n");
	fflush(stdout);
	MPT_ASSERT(0);
}
