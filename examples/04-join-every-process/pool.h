/* A tiny worker pool: N workers read job numbers from a pipe and "process"
 * them. pool_stop() is where the bug and the fix differ. */
#ifndef POOL_H
#define POOL_H
#include <sys/types.h>
struct pool { int jobs_w; int n; pid_t pid[8]; };
int pool_start(struct pool *p, int n);
void pool_submit(struct pool *p, int job);
void pool_stop(struct pool *p);
#endif
