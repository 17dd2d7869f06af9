/* A tiny worker pool: N worker processes read jobs from one pipe and run
 * them. pool_stop() is where the bug and the fix differ. */
#ifndef POOL_H
#define POOL_H
#include <sys/types.h>

#define POOL_MAX 8

struct pool {
	int jobs_w;             /* the write end of the job pipe */
	int n;
	pid_t pid[POOL_MAX];
};

/* A job: how long it takes, in milliseconds. */
struct job {
	int id;
	int cost_ms;
};

int pool_start(struct pool *p, int n);
int pool_submit(struct pool *p, struct job job);
/* Stops the pool: no more jobs. */
void pool_stop(struct pool *p);

/* What both programs do with the pool. */
int run_jobs(void);
#endif
