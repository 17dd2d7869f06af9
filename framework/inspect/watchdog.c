/* The deadlock watchdog. Placeholder until it lands: never declares one. */
#include "watchdog.h"

#include <stdlib.h>

struct mpt__watch {
	int unused;
};

struct mpt__watch *mpt__watch_new(void)
{
	return calloc(1, sizeof(struct mpt__watch));
}

void mpt__watch_free(struct mpt__watch *w)
{
	free(w);
}

int mpt__watch_sample(struct mpt__watch *w, struct mpt__region *r,
		      const pid_t *pids, int n, int64_t now_ns,
		      char **message, char **detail, char **dot)
{
	(void)w; (void)r; (void)pids; (void)n; (void)now_ns;
	(void)message; (void)detail; (void)dot;
	return 0;
}
