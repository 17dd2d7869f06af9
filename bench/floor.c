/* floor — the least a fork-per-test harness can cost.
 *
 *   floor [N]     (default 2000)
 *
 * N times: fork(); the child runs the same trivial body as the generated
 * tests (x + 1 == 2) and _exit()s; the parent waitpid()s it and checks the
 * status.  No pipes, no timers, no reporting: the per-test cost of anything
 * that forks once per test cannot go below this on the same machine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int one = 1;

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
	long failed = 0;
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 99;
		}
		if (pid == 0) {
			int x = one;
			_exit(x + 1 == 2 ? 0 : 1);
		}
		int st;
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR) {
				perror("waitpid");
				return 99;
			}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	printf("%ld tests, %ld failed\n", n, failed);
	return failed ? 1 : 0;
}
