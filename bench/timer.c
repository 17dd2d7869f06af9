/* timer — runs one command and prints how long it took.
 *
 *   timer PROGRAM [ARGS...]
 *
 * PROGRAM's stdout goes to /dev/null (stderr is kept, so failures show).
 * Prints one line on stdout: "WALL USER SYS STATUS", the wall-clock seconds
 * (CLOCK_MONOTONIC, from just before fork() to just after the wait), the
 * user and system CPU seconds of PROGRAM and all its reaped descendants,
 * and PROGRAM's exit status (128+N if killed by signal N).  Exits 0 when
 * the command ran, 127 if it could not be started.
 *
 * A C timer rather than `date +%s.%N` around the command: it adds no
 * process of its own to the measured interval. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double secs(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
		return 2;
	}
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0) {
		perror("/dev/null");
		return 127;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 127;
	}
	if (pid == 0) {
		dup2(devnull, 1);
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("wait4");
			return 127;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double wall = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("%.6f %.6f %.6f %d\n", wall, secs(ru.ru_utime), secs(ru.ru_stime),
	       status);
	return 0;
}
