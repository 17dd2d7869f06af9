/* Bug: the pool is "stopped" by closing the job pipe, and the program ends
 * without waiting: the worker running the compaction outlives its parent,
 * and nobody ever learns how it ended. */
#include "pool.h"

#include <unistd.h>

void pool_stop(struct pool *p)
{
	close(p->jobs_w); /* workers will see EOF... eventually */
}
