/* A journal in shared memory that several worker processes append records
 * to, under a process-shared mutex. Writing a record through to disk takes
 * a while, and the workers do it holding the lock, so at almost any moment
 * one of them holds it. shutdown_workers() is where the buggy and the fixed
 * program differ. */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#define WORKERS 3
#define SLOTS 256

struct journal {
	pthread_mutex_t lock;     /* process-shared: guards head and rec */
	atomic_int stop;          /* set by the parent: finish and exit */
	long head;
	struct { pid_t writer; long seq; } rec[SLOTS];
};

/* Stops the workers (pids) and reaps them. */
void shutdown_workers(struct journal *j, const pid_t *pids, int n);

/* The whole program: start the workers, let them append a while, shut
 * them down; 0, or 1. */
int run_journal(void);

#endif
