/* Fault injection through the API: the same bugs as selftests/plain/inject.c
 * as MPT_TESTs, run by selftests/check_inject.c with --inject rules and
 * --filter. Each buggy test has a fixed twin the same rule leaves passing. */
#define _GNU_SOURCE
#include <mptest.h>
#include <mptest-point.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child sends "hello"; p0 reads once (read:error=EINTR:nth=1@p0). */
static void eintr(int fixed)
{
	int fd[2];
	MPT_ASSERT_OK(pipe(fd));
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		close(fd[0]);
		MPT_ASSERT_EQ(write(fd[1], "hello", 5), 5);
		_exit(0);
	}
	close(fd[1]);
	char buf[8];
	ssize_t r;
	if (fixed) {
		do
			r = read(fd[0], buf, sizeof buf);
		while (r < 0 && errno == EINTR);
	} else {
		r = read(fd[0], buf, sizeof buf); /* BUG: no EINTR retry */
	}
	MPT_ASSERT_EQ(r, 5);
	close(fd[0]);
	mpt_wait_exited(p, 0);
}

MPT_TEST(inject, eintr_buggy) { eintr(0); }
MPT_TEST(inject, eintr_fixed) { eintr(1); }

/* A child takes a process-shared mutex and is killed at a point
 * (point=child.locked:kill=SIGKILL) before or after it lets go. */
static void lock_kill(int fixed)
{
	pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	MPT_ASSERT(m != MAP_FAILED);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(m, &a);
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		pthread_mutex_lock(m);
		if (!fixed)
			MPT_POINT("child.locked");
		pthread_mutex_unlock(m);
		if (fixed)
			MPT_POINT("child.locked");
		_exit(0);
	}
	mpt_wait_signaled(p, SIGKILL);
}

MPT_TEST(inject, lock_kill_buggy) { lock_kill(0); }
MPT_TEST(inject, lock_kill_fixed) { lock_kill(1); }
