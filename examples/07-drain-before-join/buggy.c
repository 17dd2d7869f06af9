/* Bug: a parent runs a "report generator" child and waits for it before
 * reading its output. The report is larger than the pipe holds, so the
 * child blocks in write() and the parent blocks in waitpid(): deadlock. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

int read_report(size_t size)
{
	int fd[2];
	if (pipe(fd) < 0)
		return 1;
	pid_t p = start_report_writer(fd, size);
	close(fd[1]);
	int st;
	waitpid(p, &st, 0);              /* waits first: the child is stuck */
	char buf[65536];
	size_t total = 0;
	ssize_t r;
	while ((r = read(fd[0], buf, sizeof buf)) > 0)
		total += (size_t)r;
	close(fd[0]);
	printf("read %zu bytes\n", total);
	return total == size && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
