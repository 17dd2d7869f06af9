#include "worker.h"

#include <sys/wait.h>
#include <unistd.h>

static int ask(int x, pid_t *pid)
{
	int fd[2];
	if (pipe(fd) < 0)
		return -1;
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		close(fd[0]);
		int y = x * x;
		_exit(write(fd[1], &y, sizeof y) == sizeof y ? 0 : 1);
	}
	close(fd[1]);
	/* One answer, then end of file: the worker has gone. */
	int y = -1;
	char more;
	if (read(fd[0], &y, sizeof y) != sizeof y || read(fd[0], &more, 1) != 0)
		y = -1;
	close(fd[0]);
	return y;
}

int square_buggy(int x)
{
	pid_t pid;
	return ask(x, &pid); /* the worker is never waited for */
}

int square_fixed(int x)
{
	pid_t pid;
	int y = ask(x, &pid);
	int st;
	if (pid > 0 && waitpid(pid, &st, 0) != pid)
		return -1;
	return y;
}
