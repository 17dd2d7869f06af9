/* A Check test program with mptest's guard (include/mptest-check.h): each
 * buggy test must fail through Check with mptest's finding, each fixed
 * twin must pass. selftests/check_integrations.c runs it (in fork mode and
 * with CK_FORK=no) and reads Check's verbose output. argv[1], when given,
 * is a file where the leaked tests write the pids they leave running. */
#include <check.h>
#include <mptest-check.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *pid_file;

static void note_pid(pid_t p)
{
	FILE *f = pid_file ? fopen(pid_file, "a") : NULL;
	if (f) {
		fprintf(f, "%d\n", (int)p);
		fclose(f);
	}
}

/* Waits until p has exited, and leaves it a zombie (WNOWAIT): what a
 * parent that forgets to wait does, without depending on timing. */
static void until_exited(pid_t p)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	while (waitid(P_PID, (id_t)p, &si, WEXITED | WNOWAIT) < 0)
		;
}

/* A child that exits and is never waited for. */
START_TEST(zombie_leaving)
{
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0)
		_exit(0);
	until_exited(p);
}
END_TEST

START_TEST(zombie_reaped)
{
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0)
		_exit(0);
	usleep(50000);
	int st;
	ck_assert_int_eq(waitpid(p, &st, 0), p);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

/* A worker still running when the test ends. */
START_TEST(worker_left_running)
{
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0)
		for (;;)
			pause();
	note_pid(p);
}
END_TEST

START_TEST(worker_stopped)
{
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0)
		for (;;)
			pause();
	/* Not SIGTERM: a child inherits Check's SIGTERM handler, which kills
	 * the test's whole process group. */
	kill(p, SIGKILL);
	ck_assert_int_eq(waitpid(p, NULL, 0), p);
}
END_TEST

/* Starts a daemon (double fork and setsid) that pauses forever, records
 * its pid (note_pid) and reaps the middle process. */
static void start_daemon(void)
{
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	pid_t mid = fork();
	ck_assert_int_ge(mid, 0);
	if (mid == 0) {
		setsid();
		pid_t d = fork();
		if (d == 0) {
			close(fd[0]);
			for (;;)
				pause();
		}
		if (write(fd[1], &d, sizeof d) != sizeof d)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	pid_t d;
	ck_assert_int_eq(read(fd[0], &d, sizeof d), (ssize_t)sizeof d);
	close(fd[0]);
	note_pid(d);
	ck_assert_int_eq(waitpid(mid, NULL, 0), mid);
}

/* A daemon (double fork and setsid) cannot slip out of the guard. */
START_TEST(daemon_left_running)
{
	start_daemon();
}
END_TEST

/* A child that leaves its own child unreaped: seen by the shim when the
 * child exits, and reported by the teardown. */
START_TEST(grandchild_zombie)
{
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		pid_t g = fork();
		if (g == 0)
			_exit(0);
		until_exited(g);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(p, NULL, 0), p);
}
END_TEST

/* mptest's assertions fail a Check test from any process. */
START_TEST(child_assertion)
{
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		MPT_ASSERT_EQ(getppid(), 1);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(p, NULL, 0), p);
}
END_TEST

/* A descriptor the test opened and forgot (the read end of a pipe). In
 * CK_NOFORK the test's own descriptors are not checked (see
 * mptest-check.h), so there both pass. */
START_TEST(fd_leak_buggy)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	close(p[1]);
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	/* bug: p[0] is never closed */
}
END_TEST

START_TEST(fd_leak_fixed)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	close(p[1]);
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);
}
END_TEST

static pthread_mutex_t *shared_mutex(void)
{
	pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(m != MAP_FAILED);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	ck_assert_int_eq(pthread_mutex_init(m, &a), 0);
	pthread_mutexattr_destroy(&a);
	return m;
}

/* A child takes a process-shared mutex and exits holding it: locked for
 * good. */
START_TEST(lock_held_buggy)
{
	pthread_mutex_t *m = shared_mutex();
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		pthread_mutex_lock(m);
		_exit(0); /* bug: an early return that forgets the unlock */
	}
	ck_assert_int_eq(waitpid(p, NULL, 0), p);
}
END_TEST

START_TEST(lock_held_fixed)
{
	pthread_mutex_t *m = shared_mutex();
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		pthread_mutex_lock(m);
		pthread_mutex_unlock(m);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(p, NULL, 0), p);
	ck_assert_int_eq(pthread_mutex_trylock(m), 0);
	pthread_mutex_unlock(m);
}
END_TEST

/* The test's own process ends the test holding a process-shared mutex. */
START_TEST(lock_held_by_test)
{
	pthread_mutex_t *m = shared_mutex();
	ck_assert_int_eq(pthread_mutex_lock(m), 0);
	/* bug: no unlock on this path */
}
END_TEST

/* "starting" is still in stdout's buffer (a pipe: fully buffered) at the
 * fork, and the child's exit() writes it a second time. */
START_TEST(stdio_duplicate_buggy)
{
	printf("starting\n");
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0)
		exit(0);
	ck_assert_int_eq(waitpid(p, NULL, 0), p);
}
END_TEST

START_TEST(stdio_duplicate_fixed)
{
	printf("starting\n");
	fflush(stdout);
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0)
		exit(0);
	ck_assert_int_eq(waitpid(p, NULL, 0), p);
}
END_TEST

/* A child dies of SIGABRT; the parent reaps it and looks away. */
START_TEST(crash_buggy)
{
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0)
		abort();
	ck_assert_int_eq(waitpid(p, NULL, 0), p);
}
END_TEST

START_TEST(crash_fixed)
{
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0)
		_exit(0);
	int st;
	ck_assert_int_eq(waitpid(p, &st, 0), p);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

/* A daemon (setsid, double fork) started by a test that then fails a
 * ck_assert: in fork mode the test's process ends at once (_exit), its
 * teardown never runs, and Check's killpg() misses the daemon's session.
 * The guard kills it as the process exits. */
START_TEST(daemon_then_failed_assert)
{
	start_daemon();
	ck_assert_msg(0, "the test failed with its daemon running");
}
END_TEST

/* The test runs a shell script that leaves a background job behind and
 * exits; the job comes to the test's process (the guard makes it a
 * subreaper) and ends there, unreaped by anyone: not the test's zombie, it
 * never forked it. The job outlives the shell deterministically: it waits
 * until the shell's pid is gone (reaped by the test). */
START_TEST(adopted_zombie_not_ours)
{
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	pid_t sh = fork();
	ck_assert_int_ge(sh, 0);
	if (sh == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execl("/bin/sh", "sh", "-c",
		      "p=$$; (while kill -0 $p 2>/dev/null; do sleep 0.01; done; echo done) & exit 0",
		      (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	int st;
	ck_assert_int_eq(waitpid(sh, &st, 0), sh);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char buf[16];
	ssize_t n, got = 0;
	while ((n = read(fd[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0)
		got += n;
	close(fd[0]);
	buf[got] = 0;
	ck_assert_str_eq(buf, "done\n"); /* the job ran to its end */
}
END_TEST

int main(int argc, char **argv)
{
	pid_file = argc > 1 ? argv[1] : NULL;
	Suite *s = suite_create("guard");
	TCase *tc = tcase_create("guard");
	mpt_check_guard(tc);
	tcase_add_test(tc, zombie_leaving);
	tcase_add_test(tc, zombie_reaped);
	tcase_add_test(tc, worker_left_running);
	tcase_add_test(tc, worker_stopped);
	tcase_add_test(tc, daemon_left_running);
	tcase_add_test(tc, grandchild_zombie);
	tcase_add_test(tc, child_assertion);
	tcase_add_test(tc, fd_leak_buggy);
	tcase_add_test(tc, fd_leak_fixed);
	tcase_add_test(tc, lock_held_buggy);
	tcase_add_test(tc, lock_held_fixed);
	tcase_add_test(tc, lock_held_by_test);
	tcase_add_test(tc, stdio_duplicate_buggy);
	tcase_add_test(tc, stdio_duplicate_fixed);
	tcase_add_test(tc, crash_buggy);
	tcase_add_test(tc, crash_fixed);
	tcase_add_test(tc, daemon_then_failed_assert);
	tcase_add_test(tc, adopted_zombie_not_ours);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	/* CK_NOFORK set in the code, not through CK_FORK=no: the guard must
	 * tell it from fork mode at the first test already. */
	if (getenv("MPT_SELFTEST_NOFORK_IN_CODE"))
		srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_VERBOSE);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
