/* Fix: do not terminate a process that may hold a shared resource — ask it
 * to stop. The workers check the stop flag between records, outside the
 * critical section, finish the record they are writing, release the lock
 * and exit on their own. (If a worker can die anyway, make the mutex
 * robust and repair the journal on EOWNERDEAD.) */
#include <errno.h>
#include <sys/wait.h>

#include "journal.h"

void shutdown_workers(struct journal *j, const pid_t *pids, int n)
{
	atomic_store(&j->stop, 1);
	for (int i = 0; i < n; i++)
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
}
