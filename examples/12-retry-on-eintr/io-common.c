#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

struct result {
	char name[64];
	unsigned long long sum;
	unsigned long long bytes;
	char padding[3968];   /* room for per-block sums: 4 KiB in all */
};

static volatile sig_atomic_t ticks;

/* Installed with sigaction() and no SA_RESTART, as is common: a blocking
 * read() or waitpid() interrupted by the tick fails with EINTR. */
static void on_tick(int sig)
{
	(void)sig;
	ticks++;
}

static void checksum_worker(int out)
{
	struct result r = { .name = "/var/lib/app/data.db" };
	for (unsigned long long i = 0; i < 60ULL * 1000 * 1000; i++)   /* the work */
		r.sum = r.sum * 1099511628211ULL + (i & 0xff);
	r.bytes = 60ULL * 1000 * 1000;
	_exit(write_full(out, &r, sizeof r) == 0 ? 0 : 1);
}

int run_checksum(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_tick;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	int fd[2];
	if (pipe2(fd, O_CLOEXEC) < 0) {
		perror("pipe2");
		return 1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(fd[0]);
		checksum_worker(fd[1]);
	}
	close(fd[1]);

	/* The progress spinner: a tick every 10 ms. */
	struct itimerval every_10ms = { { 0, 10000 }, { 0, 10000 } };
	setitimer(ITIMER_REAL, &every_10ms, NULL);

	struct result r;
	int rc = read_full(fd[0], &r, sizeof r);
	int err = errno;
	close(fd[0]);
	int st = wait_child(pid);
	setitimer(ITIMER_REAL, &(struct itimerval){ { 0, 0 }, { 0, 0 } }, NULL);
	if (rc < 0) {
		fprintf(stderr, "checksum: reading the result failed: %s\n", strerror(err));
		return 1;
	}
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "checksum: the worker failed\n");
		return 1;
	}
	printf("%016llx  %s (%llu bytes, %d ticks)\n", r.sum, r.name, r.bytes, (int)ticks);
	return 0;
}

#ifndef NO_MAIN   /* test.c is built with -DNO_MAIN: libmptest supplies main() */
int main(void)
{
	return run_checksum();
}
#endif
