/* Descriptor hygiene through the API (HAZARDS rows 5 and 8): each buggy
 * test has a fixed twin that must get no finding, and the precision tests
 * are correct programs the check must leave alone. selftests/check_fd.c
 * asserts the verdicts. MPT_SELFTEST_PLAIN_FD names selftests/plain/fd, a
 * program to exec (it is run with "hold" or "worker FD"). */
#define _GNU_SOURCE
#include <mptest.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void drain(int fd)
{
	char buf[256];
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) != 0)
		MPT_ASSERT(r > 0);
}

static const char *plain_fd(void)
{
	const char *p = getenv("MPT_SELFTEST_PLAIN_FD");
	if (!p || !*p)
		MPT_SKIP("MPT_SELFTEST_PLAIN_FD is not set");
	return p;
}

/* ---- p0: open at the end of the body, not open at its start ------------- */

MPT_TEST(fd, leak_open_buggy)
{
	int fd = MPT_ASSERT_OK(open("/dev/null", O_RDONLY));
	(void)fd; /* never closed */
}

MPT_TEST(fd, leak_open_fixed)
{
	int fd = MPT_ASSERT_OK(open("/dev/null", O_RDONLY));
	close(fd);
}

/* Made by calls the shim does not watch, before any call it does: the
 * baseline is what was open when the body started, so these are the
 * test's all the same. */
MPT_TEST(fd, leak_unwatched_buggy)
{
	int e = MPT_ASSERT_OK(eventfd(0, 0));
	(void)e; /* never closed */
	int p[2];
	MPT_ASSERT_OK(pipe(p));
	close(p[0]);
	close(p[1]);
}

MPT_TEST(fd, leak_unwatched_fixed)
{
	int e = MPT_ASSERT_OK(eventfd(0, 0));
	int p[2];
	MPT_ASSERT_OK(pipe(p));
	close(p[0]);
	close(p[1]);
	close(e);
}

/* The same with no watched call at all in the test. The second one's
 * descriptor is above a number that is free again at the end. */
MPT_TEST(fd, leak_unwatched_only_buggy)
{
	int e = MPT_ASSERT_OK(eventfd(0, EFD_CLOEXEC));
	(void)e; /* never closed */
}

MPT_TEST(fd, leak_unwatched_above_a_gap_buggy)
{
	DIR *d = opendir("/");
	MPT_ASSERT(d != NULL);
	int e = MPT_ASSERT_OK(eventfd(0, EFD_CLOEXEC));
	(void)e; /* never closed */
	closedir(d);
}

MPT_TEST(fd, unwatched_closed_fixed)
{
	DIR *d = opendir("/");
	MPT_ASSERT(d != NULL);
	closedir(d);
}

/* The write end is closed; the read end is forgotten. */
MPT_TEST(fd, leak_pipe_buggy)
{
	int p[2];
	MPT_ASSERT_OK(pipe(p));
	close(p[1]);
	drain(p[0]);
}

MPT_TEST(fd, leak_pipe_fixed)
{
	int p[2];
	MPT_ASSERT_OK(pipe(p));
	close(p[1]);
	drain(p[0]);
	close(p[0]);
}

MPT_TEST(fd, leak_fopen_buggy)
{
	FILE *f = fopen("/dev/null", "r");
	MPT_ASSERT(f != NULL);
}

/* Ten leaks: six are shown one by one, the rest folded into one finding. */
MPT_TEST(fd, many_leaks_buggy)
{
	for (int i = 0; i < 10; i++)
		MPT_ASSERT_OK(open("/dev/null", O_RDONLY));
}

MPT_TEST(fd, leak_allowed, .allow = MPT_ALLOW_FD_LEAK)
{
	MPT_ASSERT_OK(open("/dev/null", O_RDONLY));
}

/* ---- carried across exec and never used (HAZARDS row 8) ------------------ */

/* The child keeps the pipe's write end across exec; sleep never writes, so
 * the parent sees end-of-file only when sleep exits. */
MPT_TEST(fd, pipe_into_exec_buggy)
{
	int p[2];
	MPT_ASSERT_OK(pipe(p));
	pid_t c = MPT_ASSERT_OK(fork());
	if (c == 0) {
		close(p[0]);
		execlp("sleep", "sleep", "0.2", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	drain(p[0]);
	close(p[0]);
	mpt_wait_exited(c, 0);
}

MPT_TEST(fd, pipe_into_exec_fixed)
{
	int p[2];
	MPT_ASSERT_OK(pipe2(p, O_CLOEXEC));
	pid_t c = MPT_ASSERT_OK(fork());
	if (c == 0) {
		execlp("sleep", "sleep", "0.2", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	drain(p[0]); /* end-of-file at once: only the parent had the write end */
	close(p[0]);
	mpt_wait_exited(c, 0);
}

/* The same through posix_spawn: the file actions close the read end only. */
MPT_TEST(fd, spawn_into_exec_buggy)
{
	int p[2];
	MPT_ASSERT_OK(pipe(p));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	char *argv[] = {"sleep", "0.2", NULL};
	pid_t c;
	MPT_ASSERT_EQ(posix_spawnp(&c, "sleep", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	drain(p[0]);
	close(p[0]);
	mpt_wait_exited(c, 0);
}

MPT_TEST(fd, spawn_into_exec_fixed)
{
	int p[2];
	MPT_ASSERT_OK(pipe(p));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	posix_spawn_file_actions_addclose(&fa, p[1]);
	char *argv[] = {"sleep", "0.2", NULL};
	pid_t c;
	MPT_ASSERT_EQ(posix_spawnp(&c, "sleep", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	drain(p[0]);
	close(p[0]);
	mpt_wait_exited(c, 0);
}

/* The program holding the write end never exits by itself: the test kills
 * it, so it cannot report; the runner does, at the end of the test. */
MPT_TEST(fd, killed_before_use_buggy)
{
	const char *prog = plain_fd();
	int p[2], ready[2];
	MPT_ASSERT_OK(pipe(p));
	MPT_ASSERT_OK(pipe2(ready, O_CLOEXEC));
	pid_t c = MPT_ASSERT_OK(fork());
	if (c == 0) {
		close(p[0]);
		dup2(ready[1], 1);
		execl(prog, prog, "hold", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	close(ready[1]);
	char buf[8];
	MPT_ASSERT_GT(read(ready[0], buf, sizeof buf), 0); /* it runs and has claimed fd */
	close(ready[0]);
	kill(c, SIGKILL);
	mpt_wait_signaled(c, SIGKILL);
	close(p[0]);
}

/* ---- precision: correct programs get no finding -------------------------- */

/* `echo hello | cat`, built as a shell builds it. */
MPT_TEST(fd, pipeline_dup2)
{
	int p[2];
	MPT_ASSERT_OK(pipe(p));
	pid_t w = MPT_ASSERT_OK(fork());
	if (w == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execlp("echo", "echo", "hello", (char *)NULL);
		_exit(127);
	}
	pid_t r = MPT_ASSERT_OK(fork());
	if (r == 0) {
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execlp("cat", "cat", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	close(p[1]);
	mpt_wait_exited(w, 0);
	mpt_wait_exited(r, 0);
}

/* The writer keeps its original descriptor beside the dup2'd stdout: the
 * same pipe as its stdout, so it is in use. */
MPT_TEST(fd, pipeline_dup2_keeps_original)
{
	int p[2];
	MPT_ASSERT_OK(pipe(p));
	pid_t w = MPT_ASSERT_OK(fork());
	if (w == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execlp("echo", "echo", "hello", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	drain(p[0]);
	close(p[0]);
	mpt_wait_exited(w, 0);
}

/* A pool drained with poll(): each exec'd worker gets only its own pipe's
 * write end, and writes to it. */
#define WORKERS 3
MPT_TEST(fd, poll_pool)
{
	const char *prog = plain_fd();
	struct pollfd pf[WORKERS];
	pid_t pids[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		int p[2];
		MPT_ASSERT_OK(pipe(p));
		pids[i] = MPT_ASSERT_OK(fork());
		if (pids[i] == 0) {
			close(p[0]);
			for (int j = 0; j < i; j++)
				close(pf[j].fd);
			char fdtext[16];
			snprintf(fdtext, sizeof fdtext, "%d", p[1]);
			execl(prog, prog, "worker", fdtext, (char *)NULL);
			_exit(127);
		}
		close(p[1]);
		pf[i].fd = p[0];
		pf[i].events = POLLIN;
	}
	for (int open_ends = WORKERS; open_ends > 0;) {
		MPT_ASSERT_GT(poll(pf, WORKERS, 5000), 0);
		for (int i = 0; i < WORKERS; i++) {
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			char buf[64];
			if (read(pf[i].fd, buf, sizeof buf) <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_ends--;
			}
		}
	}
	for (int i = 0; i < WORKERS; i++)
		mpt_wait_exited(pids[i], 0);
}

/* Close-on-exec descriptors stay behind at exec; this one is closed before
 * the end. */
MPT_TEST(fd, cloexec_is_not_carried)
{
	int fd = MPT_ASSERT_OK(open("/dev/null", O_RDONLY | O_CLOEXEC));
	int s = MPT_ASSERT_OK(fcntl(fd, F_DUPFD_CLOEXEC, 10));
	pid_t c = MPT_ASSERT_OK(fork());
	if (c == 0) {
		execlp("true", "true", (char *)NULL);
		_exit(127);
	}
	mpt_wait_exited(c, 0);
	close(s);
	close(fd);
}

/* Whatever the runner (or CI) left open is carried into every exec: it is
 * the baseline, not the test's. */
MPT_TEST(fd, inherited_descriptors_are_the_baseline)
{
	pid_t c = MPT_ASSERT_OK(fork());
	if (c == 0) {
		execlp("true", "true", (char *)NULL);
		_exit(127);
	}
	mpt_wait_exited(c, 0);
}

/* Opened and closed within the test, through every wrapper that makes one. */
MPT_TEST(fd, opened_and_closed)
{
	int p[2], s[2];
	MPT_ASSERT_OK(pipe2(p, 0));
	MPT_ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
	int d = MPT_ASSERT_OK(dup(p[0]));
	int d2 = MPT_ASSERT_OK(dup2(p[1], 20));
	int d3 = MPT_ASSERT_OK(dup3(p[1], 21, O_CLOEXEC));
	int f = MPT_ASSERT_OK(fcntl(p[0], F_DUPFD, 30));
	int o = MPT_ASSERT_OK(openat(AT_FDCWD, "/dev/null", O_RDONLY));
	FILE *fp = fopen("/dev/null", "r");
	MPT_ASSERT(fp != NULL);
	fclose(fp);
	int all[] = {p[0], p[1], s[0], s[1], d, d2, d3, f, o};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		close(all[i]);
}
