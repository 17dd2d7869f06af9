/* Bug: the child makes the pipe's read end its stdin and execs sort — but
 * keeps its copy of the write end, which the exec carries along. sort reads
 * until every write end is closed; one of them is its own, so end of file
 * never comes: sort waits for itself, and the parent waits for sort. */
#include <stdlib.h>
#include <unistd.h>

#include "sorter.h"

pid_t start_sort(int *in)
{
	int fd[2];
	if (pipe(fd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[0], STDIN_FILENO);
		close(fd[0]);
		/* fd[1] is still open here, and survives the exec */
		execlp("sort", "sort", "-t:", "-k2,2nr", (char *)NULL);
		_exit(127);
	}
	close(fd[0]);
	*in = fd[1];
	return pid;
}
