/* Request statistics shared by a server's worker processes: a block of
 * MAP_SHARED memory with a process-shared mutex. Workers count every request
 * under the lock; a reporter thread in the parent closes a period every
 * 200 microseconds: it takes the counts, shows them on the dashboard and
 * starts the next period from zero. take_period() is where the buggy and
 * the fixed program differ. */
#ifndef STATS_H
#define STATS_H

#include <pthread.h>

struct stats {
	pthread_mutex_t lock;   /* process-shared: guards the counts below */
	long requests;
	long bytes;
};

/* Shows a closed period on the dashboard. */
void publish_period(const struct stats *period);

/* Takes the counts of the period that ends now, publishes them, and starts
 * the next period from zero; returns the closed period's counts in *period. */
void take_period(struct stats *s, struct stats *period);

#endif
