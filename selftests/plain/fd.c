/* Plain programs (no libmptest) for the fd hygiene checks under mpt-run:
 * argv[1] names the case; each buggy case has a fixed twin, and the
 * precision cases are correct programs that must get no finding.
 * selftests/check_fd.c asserts the verdicts. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* Reads until end-of-file; returns the bytes read. */
static size_t drain(int fd)
{
	char buf[256];
	size_t total = 0;
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) != 0) {
		if (r < 0)
			die("read");
		total += (size_t)r;
	}
	return total;
}

/* A descriptor opened by the program and never closed before it exits. */
static int leak_open(int fixed)
{
	int fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		die("open");
	if (fixed)
		close(fd);
	return 0;
}

/* The read end of a pipe the program forgot; the write end it closed. */
static int leak_pipe(int fixed)
{
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	close(p[1]);
	drain(p[0]);
	if (fixed)
		close(p[0]);
	return 0;
}

/* HAZARDS row 8: the child keeps the pipe's write end across exec; sleep
 * never writes to it, and the parent sees end-of-file only when sleep
 * exits. The fixed twin makes the pipe close-on-exec. */
static int pipe_into_exec(int fixed)
{
	int p[2];
	if ((fixed ? pipe2(p, O_CLOEXEC) : pipe(p)) < 0)
		die("pipe");
	pid_t c = fork();
	if (c < 0)
		die("fork");
	if (c == 0) {
		close(p[0]);
		execlp("sleep", "sleep", "0.2", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	drain(p[0]);
	close(p[0]);
	int st;
	waitpid(c, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* The program holding the write end is killed before it uses it (it could
 * not say so itself: the runner reports it at the end of the test). */
static int into_killed(const char *self)
{
	int p[2], ready[2];
	if (pipe(p) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		die("pipe");
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		dup2(ready[1], 1);
		execl(self, "fd", "hold", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	close(ready[1]);
	char buf[8];
	if (read(ready[0], buf, sizeof buf) <= 0)
		die("read");
	close(ready[0]);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	close(p[0]);
	return 0;
}

/* `echo hello | cat`: each side dup2()s its end onto stdin or stdout and
 * closes the rest, as a shell does. */
static int pipeline_dup2(void)
{
	int p[2];
	if (pipe(p) < 0)
		die("pipe");
	pid_t w = fork();
	if (w == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execlp("echo", "echo", "hello", (char *)NULL);
		_exit(127);
	}
	pid_t r = fork();
	if (r == 0) {
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execlp("cat", "cat", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	close(p[1]);
	int a, b;
	waitpid(w, &a, 0);
	waitpid(r, &b, 0);
	return a == 0 && b == 0 ? 0 : 1;
}

/* A worker the pool execs: it writes to the descriptor it is given. */
static int worker(const char *fdtext)
{
	int fd = atoi(fdtext);
	char line[32];
	int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
	if (write(fd, line, (size_t)n) != n)
		return 1;
	close(fd);
	return 0;
}

/* A worker pool drained with poll(): every worker is exec'd with only its
 * own pipe's write end (it closes the ends it does not use), and the
 * parent closes each write end once the worker has it. */
#define WORKERS 3
static int poll_pool(const char *self)
{
	struct pollfd pf[WORKERS];
	pid_t pids[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		int p[2];
		if (pipe(p) < 0)
			die("pipe");
		pids[i] = fork();
		if (pids[i] == 0) {
			close(p[0]);
			for (int j = 0; j < i; j++)
				close(pf[j].fd);
			char fdtext[16];
			snprintf(fdtext, sizeof fdtext, "%d", p[1]);
			execl(self, "fd", "worker", fdtext, (char *)NULL);
			_exit(127);
		}
		close(p[1]);
		pf[i].fd = p[0];
		pf[i].events = POLLIN;
	}
	int open_ends = WORKERS;
	while (open_ends > 0) {
		if (poll(pf, WORKERS, 5000) <= 0)
			die("poll");
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
	int bad = 0;
	for (int i = 0; i < WORKERS; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		bad |= st != 0;
	}
	return bad;
}

/* An eventfd (a call the shim does not watch) made first, then a pipe. */
static int leak_unwatched(int fixed)
{
	int e = eventfd(0, 0), p[2];
	if (e < 0)
		die("eventfd");
	if (pipe(p) < 0)
		die("pipe");
	close(p[0]);
	close(p[1]);
	if (fixed)
		close(e);
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "leak-open"))
		return leak_open(0);
	if (!strcmp(c, "leak-open-fixed"))
		return leak_open(1);
	if (!strcmp(c, "leak-pipe"))
		return leak_pipe(0);
	if (!strcmp(c, "leak-pipe-fixed"))
		return leak_pipe(1);
	if (!strcmp(c, "leak-unwatched"))
		return leak_unwatched(0);
	if (!strcmp(c, "leak-unwatched-fixed"))
		return leak_unwatched(1);
	if (!strcmp(c, "leak-pipe-into-exec"))
		return pipe_into_exec(0);
	if (!strcmp(c, "leak-pipe-into-exec-fixed"))
		return pipe_into_exec(1);
	if (!strcmp(c, "leak-into-killed"))
		return into_killed("/proc/self/exe");
	if (!strcmp(c, "pipeline-dup2"))
		return pipeline_dup2();
	if (!strcmp(c, "poll-pool"))
		return poll_pool("/proc/self/exe");
	if (!strcmp(c, "hold")) {
		/* Says it runs, then waits to be killed, using nothing it was given. */
		if (write(1, "ready\n", 6) != 6)
			return 1;
		for (;;)
			pause();
	}
	if (!strcmp(c, "worker") && argc > 2)
		return worker(argv[2]);
	fprintf(stderr, "usage: %s CASE\n", argv[0]);
	return 2;
}
