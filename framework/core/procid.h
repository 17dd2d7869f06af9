/* Logical process ids: "p0" for a test leader, "p0.1" for its first child,
 * "p0.1.2" for that child's second. They are assigned in fork's child
 * handler (pthread_atfork), so plain fork() needs nothing special, and they
 * are stable from run to run where pids are not. */
#ifndef MPT_PROCID_H
#define MPT_PROCID_H

/* In a new test leader: the id becomes "p0" and forks are counted. */
void mpt__procid_leader_init(void);
/* The calling process's logical id, or "?" outside a test. */
const char *mpt__procid(void);

#endif
