/* Containment: finding and killing every process a test started.
 *
 * With a writable cgroup v2 hierarchy each slot (-j lane) gets a group below
 * the runner's own; the leader moves itself in before it runs any test code,
 * so nothing it starts can escape, and cgroup.kill ends the tree at once.
 * Without one, the runner is a subreaper: when a leader dies its orphans are
 * reparented to the runner, found among the runner's children and attributed
 * to their test by the session region they map or the MPT_TEST_TOKEN
 * variable they inherited (with one lane: every child but the leader is the
 * test's), then killed subtree by subtree. What no test can be named for is
 * killed when no test runs, and at the end of the run. */
#ifndef MPT_CONTAIN_H
#define MPT_CONTAIN_H

#include <sys/types.h>

struct mpt__contain;

/* Sets up containment for `slots` lanes; never fails (falls back). */
struct mpt__contain *mpt__contain_new(int slots, int no_cgroup);
void mpt__contain_free(struct mpt__contain *c);
int mpt__contain_uses_cgroup(const struct mpt__contain *c);

/* In the new leader, before any test code: join the slot's group (or export
 * the token). Async-signal-safe apart from setenv in fallback mode. */
void mpt__contain_enter(struct mpt__contain *c, int slot, unsigned long token);
/* In the leader: closes the containment's descriptors. */
void mpt__contain_close_fds(struct mpt__contain *c);

/* The runner tells which leader runs in each slot (0 when none). */
void mpt__contain_set_leader(struct mpt__contain *c, int slot, pid_t leader);

/* Lists the live processes of the slot's test (the leader excluded) into
 * pids (up to max); returns how many. Call after the leader is reaped. */
int mpt__contain_list(struct mpt__contain *c, int slot, unsigned long token,
		      pid_t leader, pid_t *pids, int max);
/* Whether pid is already on its way out (exiting, or a SIGKILL pending):
 * such a process was killed with its test, not leaked by it. */
int mpt__proc_dying(pid_t pid);
/* Appends the children of pid (every thread's, from /proc) to out[n..max);
 * returns the new count. Not reentrant (a static buffer). */
int mpt__children_of(pid_t pid, pid_t *out, int n, int max);

/* Every live process of a running test, the leader first (for the
 * watchdog); returns how many. */
int mpt__contain_tree(struct mpt__contain *c, int slot, unsigned long token,
		      pid_t leader, pid_t *pids, int max);

/* Every live child of the runner that is neither a test leader nor was
 * there before the run, with its subtree: at a moment when no test runs,
 * processes some test left that nothing marks as its own. */
int mpt__contain_strays(struct mpt__contain *c, pid_t *pids, int max);

/* Kills every process of the slot's test (slot -1: the strays) and waits
 * (bounded) until none is left; reap(pid, status) is called for each child
 * reaped meanwhile. */
void mpt__contain_kill(struct mpt__contain *c, int slot, unsigned long token,
		       pid_t leader,
		       void (*reap)(void *arg, pid_t pid, int status), void *arg);

/* Limits the lanes enforce through cgroup controllers, where the runner's
 * group delegates them: pids.max and memory.max of every lane (0: leave
 * unset). Returns the MPT__CONTAIN_* bits in force; 0 in fallback mode or
 * when the controllers are not available. */
enum { MPT__CONTAIN_PIDS = 1, MPT__CONTAIN_MEMORY = 2 };
int mpt__contain_set_limits(struct mpt__contain *c, unsigned long long pids_max,
			    unsigned long long memory_max);
/* The lane's counters so far: forks refused at pids.max, and processes the
 * OOM killer ended under memory.max (0 for a limit not in force). */
void mpt__contain_limit_events(struct mpt__contain *c, int slot, unsigned long long *pids_max,
			       unsigned long long *oom_kills);

#endif
