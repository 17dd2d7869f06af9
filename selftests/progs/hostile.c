/* Tests that attack the harness. Each must still get its verdict, and no
 * process of theirs may survive the run. */
#include <mptest.h>

#include <signal.h>
#include <unistd.h>

/* Kills its own process group: that must never reach the runner. */
MPT_TEST(hostile, kill_own_group)
{
	if (fork() == 0)
		pause();
	kill(0, SIGKILL);
}

/* Closes every descriptor, then fails: the failure must still arrive. */
MPT_TEST(hostile, close_all_then_fail)
{
	for (int fd = 0; fd < 65536; fd++)
		close(fd);
	MPT_ASSERT_EQ(1, 0);
}

MPT_TEST(hostile, stops_itself, .timeout_ms = 300)
{
	raise(SIGSTOP);
}

MPT_TEST(hostile, ignores_sigterm_and_leaks)
{
	signal(SIGTERM, SIG_IGN);
	if (fork() == 0) {
		raise(SIGSTOP);
		pause();
	}
	if (fork() == 0)
		pause();
	usleep(20000);
}

MPT_TEST(hostile, two_hundred_children)
{
	for (int i = 0; i < 200; i++)
		if (fork() == 0)
			pause();
}
