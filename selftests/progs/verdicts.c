/* One test per verdict the runner must reach; selftests/check_runner.c runs
 * this program and asserts each test's status and findings. */
#include <mptest.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

MPT_TEST(verdict, pass)
{
	MPT_ASSERT_EQ(2 + 2, 4);
	MPT_ASSERT_STR_EQ("fork", "fork");
}

MPT_TEST(verdict, assert_eq_fails)
{
	int three = 3;
	MPT_ASSERT_EQ(three, 4);
}

MPT_TEST(verdict, assert_str_fails)
{
	MPT_ASSERT_STR_EQ("parent", "child");
}

MPT_TEST(verdict, assert_ok_fails)
{
	MPT_ASSERT_OK(open("/nonexistent/mptest", O_RDONLY));
}

MPT_TEST(verdict, crash)
{
	raise(SIGSEGV);
}

/* The child fails an assertion; the parent ignores how the child ended. */
MPT_TEST(verdict, child_assert)
{
	pid_t p = fork();
	MPT_ASSERT_NE(p, -1);
	if (p == 0) {
		MPT_ASSERT_EQ(getppid(), 1); /* false: the parent is alive */
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

/* A grandchild (p0.1.1) fails; nobody waits for anything in particular. */
MPT_TEST(verdict, grandchild_assert)
{
	pid_t p = fork();
	if (p == 0) {
		pid_t q = fork();
		if (q == 0)
			MPT_ASSERT(q != 0);
		waitpid(q, NULL, 0);
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

/* Sleeps in a loop: a wait with a timeout, so the watchdog sees a tree
 * that may still move, and only the timeout ends it. */
MPT_TEST(verdict, timeout, .timeout_ms = 300)
{
	for (;;)
		usleep(50000);
}

MPT_TEST(verdict, wait_exited_ok)
{
	pid_t p = fork();
	if (p == 0)
		_exit(3);
	mpt_wait_exited(p, 3);
}

MPT_TEST(verdict, wait_exited_wrong)
{
	pid_t p = fork();
	if (p == 0)
		abort();
	mpt_wait_exited(p, 0);
}

MPT_TEST(verdict, wait_signaled_ok)
{
	pid_t p = fork();
	if (p == 0) {
		pause();
		_exit(0);
	}
	kill(p, SIGTERM);
	mpt_wait_signaled(p, SIGTERM);
}

MPT_TEST(verdict, exit_status)
{
	exit(7);
}

MPT_TEST(verdict, skipped)
{
	MPT_SKIP("needs %s", "a second machine");
}

MPT_TEST(verdict, disabled, .skip = 1)
{
	MPT_ASSERT(0);
}

/* Control bytes, invalid UTF-8 and a CDATA terminator in the output of a
 * failing test: the JUnit report must stay valid XML. */
MPT_TEST(verdict, ugly_output)
{
	static const char ugly[] = "bell\a esc\033[31m nul-next\x01 bad\xff\xfe utf8 ]]> <&> \"q\"\n";
	fwrite(ugly, 1, sizeof ugly - 1, stdout);
	fflush(stdout);
	MPT_ASSERT_EQ(1, 2);
}

/* A daemon that escapes with setsid() and a double fork, and writes its pid
 * where the selftest can check it is gone afterwards. */
MPT_TEST(verdict, leaks_daemon)
{
	pid_t p = fork();
	if (p == 0) {
		setsid();
		if (fork() == 0) {
			const char *f = getenv("MPT_SELFTEST_PIDFILE");
			if (f) {
				FILE *out = fopen(f, "w");
				if (out) {
					fprintf(out, "%d\n", (int)getpid());
					fclose(out);
				}
			}
			for (;;)
				pause();
		}
		_exit(0);
	}
	mpt_wait_exited(p, 0);
	/* Give the grandchild time to write its pid. */
	for (int i = 0; i < 200; i++) {
		const char *f = getenv("MPT_SELFTEST_PIDFILE");
		if (!f || access(f, F_OK) == 0)
			break;
		usleep(10000);
	}
	usleep(20000);
}

MPT_TEST(verdict, leak_allowed, .allow = MPT_ALLOW_LEAKED_PROCESS)
{
	if (fork() == 0) {
		pause();
		_exit(0);
	}
}

MPT_TEST(verdict, process_ids)
{
	MPT_ASSERT_STR_EQ(mpt_process_id(), "p0");
	pid_t a = fork();
	if (a == 0) {
		MPT_ASSERT_STR_EQ(mpt_process_id(), "p0.1");
		_exit(0);
	}
	mpt_wait_exited(a, 0);
	pid_t b = fork();
	if (b == 0) {
		MPT_ASSERT_STR_EQ(mpt_process_id(), "p0.2");
		pid_t c = fork();
		if (c == 0) {
			MPT_ASSERT_STR_EQ(mpt_process_id(), "p0.2.1");
			_exit(0);
		}
		mpt_wait_exited(c, 0);
		_exit(0);
	}
	mpt_wait_exited(b, 0);
}
