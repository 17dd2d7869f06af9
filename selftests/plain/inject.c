/* Plain programs (no libmptest) for fault injection under mpt-run
 * (HAZARDS rows 6, 7 and 12): argv[1] names the case; each buggy case has
 * a correct twin that the same --inject rule leaves passing.
 * selftests/check_inject.c runs them with the rules and asserts the
 * verdicts. Only <mptest-point.h> is used from mptest, and without the
 * harness MPT_POINT does nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <mptest-point.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

static void reap(pid_t p)
{
	int st;
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
}

/* A child sends "hello" up a pipe; the parent reads it once.
 * read:error=EINTR:nth=1@p0 fails the parent's first read. */
static int eintr(int fixed)
{
	int fd[2];
	if (pipe(fd) < 0)
		die("pipe");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		close(fd[0]);
		if (write(fd[1], "hello", 5) != 5)
			_exit(1);
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
	if (r < 0)
		die("read");
	close(fd[0]);
	reap(p);
	return r == 5 && !memcmp(buf, "hello", 5) ? 0 : 1;
}

/* The parent sends 1000 bytes to a child that checks it got them all.
 * write:short=100:nth=1@p0 makes the parent's first write short. */
static int shortw(int fixed)
{
	enum { N = 1000 };
	int fd[2];
	if (pipe(fd) < 0)
		die("pipe");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		close(fd[1]);
		char buf[N + 1];
		size_t got = 0;
		ssize_t r;
		while ((r = read(fd[0], buf + got, sizeof buf - got)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				_exit(2);
			got += (size_t)r;
		}
		_exit(got == N ? 0 : 1);
	}
	close(fd[0]);
	char msg[N];
	memset(msg, 'x', sizeof msg);
	if (fixed) {
		size_t done = 0;
		while (done < N) {
			ssize_t w = write(fd[1], msg + done, N - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				die("write");
			done += (size_t)w;
		}
	} else if (write(fd[1], msg, N) < 0) { /* BUG: assumes all N went */
		die("write");
	}
	close(fd[1]);
	int st;
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* HAZARDS row 6: a child killed while it holds a process-shared mutex.
 * point=child.locked:kill=SIGKILL ends the child at the point; in the
 * fixed twin the point comes after the unlock. */
static int lockkill(int fixed)
{
	struct shared {
		pthread_mutex_t m;
		int count;
	} *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		    -1, 0);
	if (s == MAP_FAILED)
		die("mmap");
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&s->m, &a);
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		pthread_mutex_lock(&s->m);
		if (!fixed)
			MPT_POINT("child.locked");
		s->count++;
		pthread_mutex_unlock(&s->m);
		if (fixed)
			MPT_POINT("child.locked");
		_exit(0);
	}
	reap(p); /* how it ended does not matter here: the lock does */
	return 0;
}

/* Two workers; fork:error=EAGAIN:nth=2 fails the second fork. The buggy
 * version never looks at fork's result and waits for "pid" -1. */
static int forks(int fixed)
{
	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		pid_t p;
		if (fixed) {
			while ((p = fork()) < 0) {
				if (errno != EAGAIN)
					die("fork");
				usleep(1000); /* transient: try again */
			}
		} else {
			p = fork(); /* BUG: -1 not checked */
		}
		if (p == 0)
			_exit(0);
		pids[i] = p;
	}
	for (int i = 0; i < 2; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) <= 0 || !WIFEXITED(st))
			die("waitpid");
	}
	return 0;
}

/* Three workers reaped one by one; waitpid:error=EINTR:every=3 fails the
 * third waitpid (and the sixth, ...). */
static int waits(int fixed)
{
	pid_t pids[3];
	for (int i = 0; i < 3; i++) {
		if ((pids[i] = fork()) < 0)
			die("fork");
		if (pids[i] == 0)
			_exit(0);
	}
	for (int i = 0; i < 3; i++) {
		int st;
		pid_t r;
		if (fixed) {
			do
				r = waitpid(pids[i], &st, 0);
			while (r < 0 && errno == EINTR);
		} else {
			r = waitpid(pids[i], &st, 0); /* BUG: no EINTR retry */
		}
		if (r != pids[i])
			die("waitpid");
	}
	return 0;
}

/* A correct program making 50 small writes, in the parent and a child:
 * write:delay=5ms:p=0.2 delays some of them, which the fault list shows. */
static int delays(void)
{
	int fd[2];
	if (pipe(fd) < 0)
		die("pipe");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	for (int i = 0; i < 25; i++) {
		MPT_POINT("delays.loop");
		if (write(fd[1], "x", 1) != 1)
			die("write");
	}
	if (p == 0) {
		close(fd[0]);
		close(fd[1]);
		_exit(0);
	}
	reap(p);
	char buf[64];
	size_t got = 0;
	close(fd[1]);
	ssize_t r;
	while ((r = read(fd[0], buf, sizeof buf)) > 0)
		got += (size_t)r;
	close(fd[0]);
	return got == 50 ? 0 : 1;
}

/* HAZARDS row 7: the parent waits for a child that writes n bytes to a
 * pipe, and drains the pipe only then. Fine while n fits in the pipe. */
static int join_drain(size_t n, int fixed)
{
	int fd[2];
	if (pipe(fd) < 0)
		die("pipe");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		close(fd[0]);
		char *big = calloc(1, n);
		size_t done = 0;
		while (done < n) {
			ssize_t w = write(fd[1], big + done, n - done);
			if (w < 0)
				_exit(1);
			done += (size_t)w;
		}
		_exit(0);
	}
	close(fd[1]);
	char *buf = malloc(n + 1);
	size_t got = 0;
	ssize_t r;
	if (!fixed)
		reap(p); /* BUG: joins before it drains */
	while ((r = read(fd[0], buf + got, n + 1 - got)) > 0)
		got += (size_t)r;
	if (fixed)
		reap(p);
	free(buf);
	close(fd[0]);
	return got == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "eintr"))
		return eintr(0);
	if (!strcmp(c, "eintr-fixed"))
		return eintr(1);
	if (!strcmp(c, "short"))
		return shortw(0);
	if (!strcmp(c, "short-fixed"))
		return shortw(1);
	if (!strcmp(c, "lock-kill"))
		return lockkill(0);
	if (!strcmp(c, "lock-kill-fixed"))
		return lockkill(1);
	if (!strcmp(c, "fork"))
		return forks(0);
	if (!strcmp(c, "fork-fixed"))
		return forks(1);
	if (!strcmp(c, "waitpid"))
		return waits(0);
	if (!strcmp(c, "waitpid-fixed"))
		return waits(1);
	if (!strcmp(c, "delays"))
		return delays();
	if (!strcmp(c, "join-drain"))
		return join_drain(argc > 2 ? strtoul(argv[2], NULL, 10) : 6000, 0);
	if (!strcmp(c, "join-drain-fixed"))
		return join_drain(argc > 2 ? strtoul(argv[2], NULL, 10) : 6000, 1);
	fprintf(stderr, "usage: %s CASE\n", argv[0]);
	return 2;
}
