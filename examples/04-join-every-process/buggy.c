/* Bug: the pool is "stopped" by closing the job pipe, and the program ends
 * without waiting: the workers are still finishing (or sleeping) when their
 * parent is gone, and nobody ever reaps them. */
#include "pool.h"

#include <stdio.h>
#include <unistd.h>

void pool_stop(struct pool *p)
{
	close(p->jobs_w); /* workers will see EOF... eventually */
}

int main(void)
{
	struct pool p;
	if (pool_start(&p, 4) < 0)
		return 1;
	for (int job = 0; job < 20; job++)
		pool_submit(&p, job);
	/* A slow last job: the worker that takes it outlives main. */
	pool_submit(&p, 3000 * 1000 + 2);
	pool_stop(&p);
	puts("submitted 21 jobs");
	return 0;
}
