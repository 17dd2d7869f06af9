/* The "report generator" child both programs start: it writes size bytes
 * into the pipe's write end and exits. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

pid_t start_report_writer(int fd[2], size_t size)
{
	pid_t p = fork();
	if (p != 0)
		return p;
	close(fd[0]);
	char *report = malloc(size);
	if (!report)
		_exit(1);
	memset(report, 'r', size);
	size_t done = 0;
	while (done < size) {
		ssize_t w = write(fd[1], report + done, size - done);
		if (w < 0)
			_exit(1);
		done += (size_t)w;
	}
	_exit(0);
}

#ifndef NO_MAIN   /* test.c is built with -DNO_MAIN: libmptest supplies main() */
int main(int argc, char **argv)
{
	return read_report(argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000);
}
#endif
