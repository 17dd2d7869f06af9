/* Workers append records until told to stop; the parent lets them run for
 * a while, then shuts them down and reports the journal's length. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <mptest-point.h>   /* MPT_POINT: a no-op without the harness */

#include "journal.h"

static void append(struct journal *j, long seq)
{
	pthread_mutex_lock(&j->lock);
	MPT_POINT("journal.locked");   /* --inject=point=journal.locked:... */
	long slot = j->head % SLOTS;
	j->rec[slot].writer = getpid();
	j->rec[slot].seq = seq;
	usleep(2000);             /* write the record through to disk */
	j->head++;
	pthread_mutex_unlock(&j->lock);
}

static void worker(struct journal *j)
{
	for (long seq = 0; !atomic_load(&j->stop); seq++)
		append(j, seq);
	_exit(0);
}

int run_journal(void)
{
	struct journal *j = mmap(NULL, sizeof *j, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (j == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&j->lock, &a);
	pthread_mutexattr_destroy(&a);

	pid_t pids[WORKERS];
	int n = 0;
	fflush(NULL);
	for (; n < WORKERS; n++) {
		pids[n] = fork();
		if (pids[n] < 0)
			break;
		if (pids[n] == 0)
			worker(j);
	}
	nanosleep(&(struct timespec){ 0, 100 * 1000000 }, NULL);  /* serve a while */
	shutdown_workers(j, pids, n);
	printf("journal: %ld records from %d workers\n", j->head, n);
	munmap(j, sizeof *j);
	return 0;
}

#ifndef NO_MAIN   /* test.c is built with -DNO_MAIN: libmptest supplies main() */
int main(void)
{
	return run_journal();
}
#endif
