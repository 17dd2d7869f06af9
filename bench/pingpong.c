/* 100k round trips of one byte between a parent and a child over two
 * pipes: the workload of the shim-overhead benchmark. Prints the wall
 * seconds of the exchange and the CPU seconds (user+sys) both processes
 * spent in it: "WALL CPU". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_of(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int up[2], down[2];
	if (pipe(up) < 0 || pipe(down) < 0)
		return 1;
	struct timespec t0, t1;
	double c0 = cpu_of(RUSAGE_SELF) + cpu_of(RUSAGE_CHILDREN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t p = fork();
	if (p == 0) {
		close(down[1]);
		close(up[0]);
		char c;
		while (read(down[0], &c, 1) == 1)
			if (write(up[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(down[0]);
	close(up[1]);
	char c = 'x';
	for (long i = 0; i < n; i++)
		if (write(down[1], &c, 1) != 1 || read(up[0], &c, 1) != 1)
			return 1;
	close(down[1]);
	int st;
	waitpid(p, &st, 0);
	close(up[0]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double c1 = cpu_of(RUSAGE_SELF) + cpu_of(RUSAGE_CHILDREN);
	printf("%.4f %.4f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       c1 - c0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
