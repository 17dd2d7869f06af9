/* Logical process ids: "p0" for a test leader, "p0.1" for its first child,
 * "p0.1.2" for that child's second. They are assigned in fork's child
 * handler (pthread_atfork), by the parent for posix_spawn, and looked up
 * again by an exec'd program, so they are stable from run to run where pids
 * are not. Each process's entry in the region's table is kept here. */
#ifndef MPT_PROCID_H
#define MPT_PROCID_H

#include <stdint.h>
#include <sys/types.h>

struct mpt__proc;

/* In a new test leader: the id becomes "p0" and forks are counted. */
void mpt__procid_leader_init(void);
/* In the parent, right after fork() returned child's pid. */
void mpt__procid_forked(pid_t child);
/* In a program exec'd inside a test: find (or make) this process's entry. */
void mpt__procid_attach(void);
/* In the parent, around a child started without fork handlers
 * (posix_spawn): begin reserves the next number, spawned gives the child
 * its entry unless its program already took it. */
void mpt__procid_spawn_begin(void);
void mpt__procid_spawned(pid_t child, uintptr_t site);
/* Makes mpt__procid() answer through fn (the preload library's copy). */
void mpt__procid_set_delegate(const char *(*fn)(void));
/* The calling process's logical id, or "?" outside a test. */
const char *mpt__procid(void);
/* The calling process's entry in the table, or NULL. */
struct mpt__proc *mpt__procid_self(void);
/* Set by the fork wrapper just before fork(): the call site, which the
 * child stores in its entry. */
extern uintptr_t mpt__fork_site;

#endif
