/* Bug: the job is sent as it is in memory, pointer and all. The pointer is
 * an address in the parent; the worker, a separate process forked before
 * the manifest was read, has nothing there, and dies of SIGSEGV the first
 * time it reads the path. (Across exec it would be worse: any address.) */
#include <errno.h>
#include <unistd.h>

#include "archive.h"

int send_job(int fd, const struct job *job)
{
	return write(fd, job, sizeof *job) == (ssize_t)sizeof *job ? 0 : -1;
}

int recv_job(int fd, struct job *job)
{
	ssize_t r = read(fd, job, sizeof *job);
	return r == (ssize_t)sizeof *job ? 1 : r == 0 ? 0 : -1;
}
