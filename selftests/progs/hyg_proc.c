/* Process hygiene through the API: each buggy test has a fixed twin that
 * must get no finding. selftests/check_proc.c asserts the verdicts. */
#include <mptest.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Waits until child p has exited, leaving it unreaped (WNOWAIT): a zombie
 * for sure, with no sleep that a slow child (under Valgrind) could outlast. */
static void until_exited(pid_t p)
{
	siginfo_t info;
	MPT_ASSERT_OK(waitid(P_PID, (id_t)p, &info, WEXITED | WNOWAIT));
}

/* HAZARDS row 4: a child that exits and is never waited for. */
MPT_TEST(proc, zombie_buggy)
{
	pid_t p = fork();
	if (p == 0)
		_exit(3);
	until_exited(p); /* the parent lives on; the child stays a zombie */
}

MPT_TEST(proc, zombie_fixed)
{
	pid_t p = fork();
	if (p == 0)
		_exit(3);
	usleep(50000);
	mpt_wait_exited(p, 3);
}

/* A worker left running when the test ends. */
MPT_TEST(proc, leaked_buggy)
{
	if (fork() == 0)
		for (;;)
			pause();
}

MPT_TEST(proc, leaked_fixed)
{
	pid_t p = fork();
	if (p == 0)
		for (;;)
			pause();
	kill(p, SIGTERM);
	mpt_wait_signaled(p, SIGTERM);
}

/* A body that ends by exit(3): the leader's status fails the test. */
MPT_TEST(proc, body_exits_nonzero)
{
	exit(3);
}

MPT_TEST(proc, body_exits_zero)
{
	exit(0);
}

/* HAZARDS row 13: a child crashes; the parent reaps it and looks away. */
MPT_TEST(proc, crash_buggy)
{
	pid_t p = fork();
	if (p == 0)
		abort();
	waitpid(p, NULL, 0);
}

MPT_TEST(proc, crash_fixed)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	mpt_wait_exited(p, 0);
}

/* Precision: a classic double-forked daemon whose middle child is waited
 * and whose grandchild finishes its work (reported over a pipe) in time. */
MPT_TEST(proc, daemon_double_fork_is_clean)
{
	int fd[2];
	MPT_ASSERT_OK(pipe(fd));
	pid_t mid = fork();
	if (mid == 0) {
		setsid();
		if (fork() == 0) {
			close(fd[0]);
			MPT_ASSERT_EQ(write(fd[1], "done", 4), 4);
			_exit(0);
		}
		_exit(0);
	}
	close(fd[1]);
	mpt_wait_exited(mid, 0);
	char buf[8];
	MPT_ASSERT_EQ(read(fd[0], buf, sizeof buf), 4);
	/* EOF: the grandchild has exited; its parent (the subreaper) reaps it. */
	MPT_ASSERT_EQ(read(fd[0], buf, sizeof buf), 0);
	close(fd[0]);
	usleep(20000);
}

/* posix_spawn'd programs get the next logical id and run the shim too: a
 * zombie left by the exec'd program is found in it (p0.1's child p0.1.1). */
MPT_TEST(proc, spawned_program_leaves_zombie)
{
	const char *plain = getenv("MPT_SELFTEST_PLAIN_PROC");
	if (!plain)
		MPT_SKIP("MPT_SELFTEST_PLAIN_PROC not set");
	pid_t p;
	char *argv[] = {(char *)plain, "zombie", NULL};
	MPT_ASSERT_EQ(posix_spawn(&p, plain, NULL, NULL, argv, environ), 0);
	mpt_wait_exited(p, 0);
}

MPT_TEST(proc, assert_no_children_mid_test)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	until_exited(p);
	mpt_assert_no_children(); /* fails: p0.1 exited but is not reaped */
}

MPT_TEST(proc, assert_no_children_passes)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	mpt_wait_exited(p, 0);
	mpt_assert_no_children();
}

MPT_TEST(proc, zombie_allowed, .allow = MPT_ALLOW_ZOMBIE)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	until_exited(p);
}

/* The other explicit mid-test checks. */
MPT_TEST(proc, assert_fds_unchanged_fails, .allow = MPT_ALLOW_FD_LEAK)
{
	int fd = MPT_ASSERT_OK(open("/dev/null", O_RDONLY));
	mpt_assert_fds_unchanged(); /* fails: fd is new */
	close(fd);
}

/* A descriptor made by a call the shim does not watch, as the body's first
 * act: the baseline was taken before, so the assertion sees it. */
MPT_TEST(proc, assert_fds_unchanged_sees_unwatched, .allow = MPT_ALLOW_FD_LEAK)
{
	int fd = MPT_ASSERT_OK(eventfd(0, EFD_CLOEXEC));
	mpt_assert_fds_unchanged(); /* fails: fd is new */
	close(fd);
}

MPT_TEST(proc, assert_fds_unchanged_passes)
{
	int fd = MPT_ASSERT_OK(open("/dev/null", O_RDONLY));
	close(fd);
	mpt_assert_fds_unchanged();
}

static pthread_mutex_t *shared_mutex(void)
{
	pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	MPT_ASSERT(m != MAP_FAILED);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(m, &a);
	return m;
}

MPT_TEST(proc, assert_no_locks_fails, .allow = MPT_ALLOW_LOCK_HELD)
{
	pthread_mutex_t *m = shared_mutex();
	pthread_mutex_lock(m);
	mpt_assert_no_locks(); /* fails: this process holds m */
}

MPT_TEST(proc, assert_no_locks_passes)
{
	pthread_mutex_t *m = shared_mutex();
	pthread_mutex_lock(m);
	pthread_mutex_unlock(m);
	mpt_assert_no_locks();
}
