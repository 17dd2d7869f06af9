/* Fix: stopping the pool means closing the job pipe AND waiting for every
 * worker, so none outlives the program and none is left unreaped. */
#include "pool.h"

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

void pool_stop(struct pool *p)
{
	close(p->jobs_w);
	for (int i = 0; i < p->n; i++)
		while (waitpid(p->pid[i], NULL, 0) < 0 && errno == EINTR)
			;
}
