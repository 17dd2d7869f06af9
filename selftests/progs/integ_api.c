/* API tests for the integrations (--faketime, --valgrind); each is meant
 * to be run under one of them by selftests/check_integrations.c. */
#include <mptest.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Sleeps 10 s in the leader and in a child, and checks that each clock saw
 * 10 s go by. Its 3 s timeout is the runner's, on the real clock: it can
 * only pass when the tree's time runs faster (--faketime='+0 x20'). */
MPT_TEST(integ, sleep_ten, .timeout_ms = 3000)
{
	double m0 = seconds(CLOCK_MONOTONIC), r0 = seconds(CLOCK_REALTIME);
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		double c0 = seconds(CLOCK_MONOTONIC);
		sleep(10);
		MPT_ASSERT_GE(seconds(CLOCK_MONOTONIC) - c0, 9.9);
		_exit(0);
	}
	sleep(10);
	MPT_ASSERT_GE(seconds(CLOCK_MONOTONIC) - m0, 9.9);
	MPT_ASSERT_GE(seconds(CLOCK_REALTIME) - r0, 9.9);
	mpt_wait_exited(p, 0);
}

/* Under --faketime: notes whether libfaketime made its /dev/shm files for
 * this (the leader's) pid, then sleeps until the runner kills the tree. */
MPT_TEST(integ, killed_under_faketime, .timeout_ms = 1000)
{
	const char *dir = getenv("MPT_SELFTEST_DIR");
	if (!dir)
		MPT_SKIP("MPT_SELFTEST_DIR not set");
	char shm[64], path[4096];
	snprintf(shm, sizeof shm, "/dev/shm/faketime_shm_%d", (int)getpid());
	snprintf(path, sizeof path, "%s/killed.pid", dir);
	FILE *f = fopen(path, "w");
	MPT_ASSERT(f != NULL);
	fprintf(f, "%d %d\n", (int)getpid(), access(shm, F_OK) == 0);
	fclose(f);
	for (;;)
		sleep(1); /* a timed wait, not a deadlock: the timeout ends it */
}

/* A child reads memory it freed, then exits 0 and is reaped: nothing but
 * Valgrind can see the bug. The pointer goes through a volatile so the
 * compiler does not see it either. */
static void use_after_free(void)
{
	int *v = malloc(4 * sizeof *v);
	MPT_ASSERT(v != NULL);
	v[0] = 42;
	int *volatile stale = v;
	free(v);
	volatile int x = stale[0];
	(void)x;
}

MPT_TEST(integ, child_use_after_free)
{
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		use_after_free();
		_exit(0);
	}
	mpt_wait_exited(p, 0);
}

/* The same, but the child then execs /bin/true: the pid stays, a new
 * Valgrind starts, and what the first one saw must not be lost. */
MPT_TEST(integ, child_use_after_free_then_exec)
{
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		use_after_free();
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	mpt_wait_exited(p, 0);
}

/* Clean: a forked writer, an exec'd filter (tr) and the leader reading the
 * result through pipes; everything closed and reaped. */
MPT_TEST(integ, clean_pipeline)
{
	int in[2], out[2];
	MPT_ASSERT_OK(pipe(in));
	MPT_ASSERT_OK(pipe(out));
	pid_t writer = MPT_ASSERT_OK(fork());
	if (writer == 0) {
		close(in[0]);
		close(out[0]);
		close(out[1]);
		static const char msg[] = "a clean pipeline\n";
		for (int i = 0; i < 50; i++)
			MPT_ASSERT_EQ(write(in[1], msg, sizeof msg - 1), (ssize_t)(sizeof msg - 1));
		close(in[1]);
		_exit(0);
	}
	pid_t filter = MPT_ASSERT_OK(fork());
	if (filter == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execlp("tr", "tr", "a-z", "A-Z", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(in[1]);
	close(out[1]);
	char buf[4096];
	size_t total = 0;
	ssize_t r;
	while ((r = read(out[0], buf, sizeof buf)) > 0) {
		MPT_ASSERT(memchr(buf, 'a', (size_t)r) == NULL);
		total += (size_t)r;
	}
	close(out[0]);
	mpt_wait_exited(writer, 0);
	mpt_wait_exited(filter, 0);
	MPT_ASSERT_EQ(total, (size_t)(50 * 17));
}
