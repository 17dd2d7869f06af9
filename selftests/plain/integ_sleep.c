/* A plain program (no libmptest) for --faketime under mpt-run: argv[1]
 * names the case.
 *   ten   sleeps 10 s in the parent and in a child, and checks that both
 *         clocks saw 10 s go by; exits 0 only then
 *   hang  writes "PID SHM" to argv[2] (SHM: 1 if libfaketime made its
 *         /dev/shm file for this pid) and sleeps until it is killed */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int ten(void)
{
	double m0 = seconds(CLOCK_MONOTONIC), r0 = seconds(CLOCK_REALTIME);
	pid_t p = fork();
	if (p < 0)
		return 1;
	if (p == 0) {
		double c0 = seconds(CLOCK_MONOTONIC);
		sleep(10);
		_exit(seconds(CLOCK_MONOTONIC) - c0 >= 9.9 ? 0 : 1);
	}
	sleep(10);
	double dm = seconds(CLOCK_MONOTONIC) - m0, dr = seconds(CLOCK_REALTIME) - r0;
	int st;
	if (waitpid(p, &st, 0) != p)
		return 1;
	printf("slept: %.2f s monotonic, %.2f s realtime; child %s\n", dm, dr,
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "failed");
	return dm >= 9.9 && dr >= 9.9 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int hang(const char *file)
{
	char shm[64];
	snprintf(shm, sizeof shm, "/dev/shm/faketime_shm_%d", (int)getpid());
	FILE *f = fopen(file, "w");
	if (!f)
		return 1;
	fprintf(f, "%d %d\n", (int)getpid(), access(shm, F_OK) == 0);
	fclose(f);
	for (;;)
		sleep(1); /* a timed wait, not a deadlock: the timeout ends it */
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "ten"))
		return ten();
	if (argc > 2 && !strcmp(argv[1], "hang"))
		return hang(argv[2]);
	fprintf(stderr, "usage: %s ten | hang FILE\n", argv[0]);
	return 2;
}
