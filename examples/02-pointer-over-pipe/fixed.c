/* Fix: send the data, not the address. The message carries the path itself
 * in a fixed-size record — small enough (below PIPE_BUF) that each write is
 * atomic — and the worker points its job into its own copy. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"

struct job_msg {
	int id;
	char path[256];
};
_Static_assert(sizeof(struct job_msg) <= PIPE_BUF, "one atomic write per job");

int send_job(int fd, const struct job *job)
{
	struct job_msg m = { .id = job->id };
	size_t len = strlen(job->path);
	if (len >= sizeof m.path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(m.path, job->path, len + 1);
	return write(fd, &m, sizeof m) == (ssize_t)sizeof m ? 0 : -1;
}

int recv_job(int fd, struct job *job)
{
	static struct job_msg m;
	ssize_t r = read(fd, &m, sizeof m);
	if (r != (ssize_t)sizeof m)
		return r == 0 ? 0 : -1;
	m.path[sizeof m.path - 1] = 0;
	job->id = m.id;
	job->path = m.path;
	return 1;
}
