/* The deadlock watchdog: samples a test's process tree from /proc and the
 * session region, and declares a deadlock when the processes of a cycle (or
 * every process of the tree) are blocked on conditions only stuck or dead
 * processes could meet. */
#ifndef MPT_WATCHDOG_H
#define MPT_WATCHDOG_H

#include <stdint.h>
#include <sys/types.h>

struct mpt__region;
struct mpt__watch;

/* One watch per running test. */
struct mpt__watch *mpt__watch_new(void);
void mpt__watch_free(struct mpt__watch *w);

/* Takes one sample of the tree (pids: every live process of the test, the
 * leader first). Returns 1 when a deadlock is established, and then fills
 * *message (one line), *detail (the report: the cycle as an indented tree,
 * each wait with call, fd, object, pipe fill and who holds the other end,
 * and a fix hint) and *dot (the wait-for graph in Graphviz DOT), all
 * malloc'd; 0 otherwise. Sampling never reads from a pipe and never
 * attaches ptrace; the stacks in the report are taken with ptrace (eu-stack
 * or gdb) only after the verdict, when the deadlock can no longer dissolve. */
int mpt__watch_sample(struct mpt__watch *w, struct mpt__region *r,
		      const pid_t *pids, int n, int64_t now_ns,
		      char **message, char **detail, char **dot);

#endif
