/* Per-test resource limits in the shim (--max-procs, --max-memory): the
 * fork family asks before it makes a process, the wait family tells when
 * one is reaped, the allocator wrappers tell when an allocation failed.
 * Call these only when mpt__shim_on(). */
#ifndef MPT_LIMITS_H
#define MPT_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* Before fork/vfork/posix_spawn/clone: 0 to go on (a place is reserved
 * for the new process), or -1 with errno EAGAIN when the test is at
 * --max-procs; the first refusal of a test is its resource-limit finding.
 * call is "fork()", ...; site the caller's address, or 0. */
int mpt__limit_fork_begin(const char *call, uintptr_t site);
/* After the real call, in the parent: made says whether a process was
 * made; if not, the place is given back. */
void mpt__limit_fork_end(int made);
/* A process of the test was reaped by a wait wrapper: its place is free. */
void mpt__limit_reaped(void);
/* An allocation of n bytes failed (call: "malloc", "calloc", ...): with
 * --max-memory set, the test's resource-limit finding. Keeps errno. */
void mpt__limit_alloc_failed(const char *call, size_t n, uintptr_t site);

#endif
