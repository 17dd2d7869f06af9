/* Tests that reach the per-test resource limits (--max-procs,
 * --max-memory), and correct twins that stay within them. Every child pid
 * goes to MPT_SELFTEST_PIDFILE when it is set, so the selftest can check
 * that none of them survived the run. */
#include <mptest.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static int pidfile(void)
{
	const char *f = getenv("MPT_SELFTEST_PIDFILE");
	return f && *f ? open(f, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
}

/* A fork bomb with a bound: up to 2000 children that each pause()
 * forever; the loop stops when fork() fails. */
MPT_TEST(limits, fork_2000_sleepers)
{
	int fd = pidfile(), n = 0;
	while (n < 2000) {
		pid_t p = fork();
		if (p < 0)
			break;
		if (p == 0) {
			if (fd >= 0)
				close(fd);
			for (;;)
				pause();
		}
		n++;
		if (fd >= 0)
			dprintf(fd, "%d\n", (int)p);
	}
	if (fd >= 0)
		close(fd);
	printf("forked %d children\n", n);
}

/* The correct twin: 300 children in all, never more than three alive. */
MPT_TEST(limits, fork_and_reap_300)
{
	for (int round = 0; round < 100; round++) {
		pid_t p[3];
		for (int i = 0; i < 3; i++) {
			p[i] = MPT_ASSERT_OK(fork());
			if (p[i] == 0)
				_exit(i);
		}
		for (int i = 0; i < 3; i++)
			mpt_wait_exited(p[i], i);
	}
}

/* Children reaped by the kernel (SIGCHLD ignored) are never waited for:
 * they leave the count all the same. Each one is gone before the next. */
MPT_TEST(limits, ignored_sigchld_300)
{
	signal(SIGCHLD, SIG_IGN);
	for (int i = 0; i < 300; i++) {
		pid_t p = MPT_ASSERT_OK(fork());
		if (p == 0)
			_exit(0);
		while (kill(p, 0) == 0)
			usleep(500);
	}
}

/* Allocates and touches 1 MB chunks until malloc() fails. */
MPT_TEST(limits, malloc_until_null)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY)
		MPT_SKIP("needs --max-memory: without a limit it would take all the memory there is");
	static char *chunk[1 << 14];
	int n = 0;
	while (n < 1 << 14) {
		char *p = malloc(1 << 20);
		if (!p)
			break;
		memset(p, 1, 1 << 20);
		chunk[n++] = p;
	}
	printf("allocated %d MB\n", n);
	while (n > 0)
		free(chunk[--n]);
}

/* The same through mmap(), which the allocator wrappers never see. */
MPT_TEST(limits, mmap_until_failed)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY)
		MPT_SKIP("needs --max-memory: without a limit it would take all the memory there is");
	int n = 0;
	while (n < 1 << 14) {
		void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		memset(p, 1, 1 << 20);
		n++;
	}
	printf("mapped %d MB\n", n);
}

/* The correct twin: 10 MB, well within --max-memory=64M. */
MPT_TEST(limits, malloc_10mb)
{
	char *chunk[10];
	for (int i = 0; i < 10; i++) {
		chunk[i] = malloc(1 << 20);
		MPT_ASSERT(chunk[i] != NULL);
		memset(chunk[i], 1, 1 << 20);
	}
	for (int i = 0; i < 10; i++)
		free(chunk[i]);
}
