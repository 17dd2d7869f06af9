#define _GNU_SOURCE
#include "pool.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static void worker(int jobs_r)
{
	struct job job;
	/* Workers run until the job pipe reaches end of file. */
	while (read(jobs_r, &job, sizeof job) == (ssize_t)sizeof job)
		usleep(1000 * (useconds_t)job.cost_ms);
	_exit(0);
}

int pool_start(struct pool *p, int n)
{
	int fd[2];
	if (n > POOL_MAX || pipe2(fd, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	p->n = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			close(fd[1]);
			worker(fd[0]);
		}
		p->pid[p->n++] = pid;
	}
	close(fd[0]);
	p->jobs_w = fd[1];
	return p->n == n ? 0 : -1;
}

int pool_submit(struct pool *p, struct job job)
{
	return write(p->jobs_w, &job, sizeof job) == (ssize_t)sizeof job ? 0 : -1;
}

/* Twenty quick jobs, then the nightly compaction, which takes a while. */
int run_jobs(void)
{
	struct pool p;
	if (pool_start(&p, 4) < 0) {
		perror("pool_start");
		return 1;
	}
	int id = 0;
	for (; id < 20; id++)
		pool_submit(&p, (struct job){ id, id % 3 });
	pool_submit(&p, (struct job){ id++, 300 });
	pool_stop(&p);
	printf("%d jobs submitted, pool stopped\n", id);
	return 0;
}

#ifndef NO_MAIN   /* test.c is built with -DNO_MAIN: libmptest supplies main() */
int main(void)
{
	return run_jobs();
}
#endif
