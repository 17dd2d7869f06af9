/* 100k round trips of one byte between a parent and a child over two
 * pipes: the workload of the shim-overhead benchmark. Prints the seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int up[2], down[2];
	if (pipe(up) < 0 || pipe(down) < 0)
		return 1;
	struct timespec t0, t1;
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
	printf("%.4f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
