#include "pool.h"

#include <stdlib.h>
#include <unistd.h>

static void worker(int jobs_r)
{
	int job;
	/* Workers run until the job pipe reaches end of file. */
	while (read(jobs_r, &job, sizeof job) == (ssize_t)sizeof job)
		usleep(1000 * (job % 3));
	_exit(0);
}

int pool_start(struct pool *p, int n)
{
	int fd[2];
	if (pipe(fd) < 0)
		return -1;
	p->n = n;
	for (int i = 0; i < n; i++) {
		p->pid[i] = fork();
		if (p->pid[i] == 0) {
			close(fd[1]);
			worker(fd[0]);
		}
	}
	close(fd[0]);
	p->jobs_w = fd[1];
	return 0;
}

void pool_submit(struct pool *p, int job)
{
	if (write(p->jobs_w, &job, sizeof job) != (ssize_t)sizeof job)
		abort();
}
