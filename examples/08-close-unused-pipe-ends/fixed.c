/* Fix: pass the child exactly what it needs. The pipe is made with
 * O_CLOEXEC, so no end of it crosses the exec by accident; dup2() gives the
 * child its stdin (a dup2'd descriptor is not close-on-exec), and each side
 * closes the ends it does not use. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "sorter.h"

pid_t start_sort(int *in)
{
	int fd[2];
	if (pipe2(fd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[0], STDIN_FILENO);
		close(fd[0]);
		close(fd[1]);   /* the write end is the parent's alone */
		execlp("sort", "sort", "-t:", "-k2,2nr", (char *)NULL);
		_exit(127);
	}
	close(fd[0]);
	*in = fd[1];
	return pid;
}
