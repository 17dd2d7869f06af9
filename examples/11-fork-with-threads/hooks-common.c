#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hooks.h"

FILE *service_log;
static atomic_int stopping;

/* The metrics thread: a log line every millisecond. Each fprintf() takes
 * the log's lock, and malloc() takes the allocator's. */
static void *metrics(void *arg)
{
	(void)arg;
	for (long tick = 0; !atomic_load(&stopping); tick++) {
		char *line = malloc(64);
		if (line) {
			snprintf(line, 64, "metrics: tick %ld\n", tick);
			fputs(line, service_log);
			free(line);
		}
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return NULL;
}

int run_service(void)
{
	service_log = stderr;
	pthread_t t;
	if (pthread_create(&t, NULL, metrics, NULL) != 0)
		return 1;
	int failed = 0;
	for (int day = 1; day <= 5; day++) {
		char file[64];
		snprintf(file, sizeof file, "app.log.%d", day);
		nanosleep(&(struct timespec){ 0, 5 * 1000000 }, NULL);
		if (run_hook(file) != 0)
			failed++;
	}
	atomic_store(&stopping, 1);
	pthread_join(t, NULL);
	fprintf(service_log, "service: 5 rotations, %d hooks failed\n", failed);
	return failed != 0;
}

#ifndef NO_MAIN   /* test.c is built with -DNO_MAIN: libmptest supplies main() */
int main(void)
{
	return run_service();
}
#endif
