/* Plain programs (no libmptest) that reach the per-test resource limits
 * under mpt-run, and correct twins: argv[1] names the case; child pids go
 * to the file argv[2] names, when given. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int pidfd = -1;

static void note(pid_t p)
{
	if (pidfd >= 0)
		dprintf(pidfd, "%d\n", (int)p);
}

static void sleep_forever(void)
{
	if (pidfd >= 0)
		close(pidfd);
	for (;;)
		pause();
}

/* Up to 2000 sleeping children; stops, as a careful program would, at the
 * first failed fork(), and says so. */
static int forks(void)
{
	for (int n = 0; n < 2000; n++) {
		pid_t p = fork();
		if (p < 0) {
			fprintf(stderr, "fork #%d: %s\n", n + 1, strerror(errno));
			return 1;
		}
		if (p == 0)
			sleep_forever();
		note(p);
	}
	return 0;
}

/* The same through the raw system call, past the shim: only the runner's
 * own count sees these. 300 children, then the parent waits to be ended. */
static int forks_raw(void)
{
	for (int n = 0; n < 300; n++) {
		long p = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
		if (p < 0)
			return 1;
		if (p == 0)
			sleep_forever();
		note((pid_t)p);
	}
	sleep_forever();
	return 0;
}

/* The correct twin: 300 children one after another, each reaped. */
static int reap(void)
{
	for (int n = 0; n < 300; n++) {
		pid_t p = fork();
		if (p < 0)
			return 1;
		if (p == 0)
			_exit(0);
		int st;
		if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
			return 1;
	}
	return 0;
}

/* 1 MB chunks, touched, until malloc() fails (at most 16 GB); the 10 MB
 * twin stays well within --max-memory=64M. */
static int memory(int max_mb)
{
	static char *chunk[1 << 14];
	int n = 0;
	while (n < max_mb) {
		char *p = malloc(1 << 20);
		if (!p)
			break;
		memset(p, 1, 1 << 20);
		chunk[n++] = p;
	}
	printf("allocated %d MB\n", n);
	int short_of = n < max_mb;
	while (n > 0)
		free(chunk[--n]);
	return short_of;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (argc > 2)
		pidfd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	const char *c = argv[1];
	int rc = !strcmp(c, "forks")       ? forks()
	       : !strcmp(c, "forks-raw")   ? forks_raw()
	       : !strcmp(c, "reap")        ? reap()
	       : !strcmp(c, "memory")      ? memory(1 << 14)
	       : !strcmp(c, "memory-10mb") ? memory(10)
	       : 2;
	if (pidfd >= 0)
		close(pidfd);
	return rc;
}
