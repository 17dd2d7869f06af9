/* Zombies: children that exited and were never waited for. */
#ifndef MPT_ZOMBIE_H
#define MPT_ZOMBIE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mpt__region;

typedef void mpt__finding_fn(int kind, pid_t pid, const char *id,
			     const char *message, const char *detail);

/* Reports each zombie child of parent (children forked by its main thread)
 * through emit; `when` says when it was seen ("when it exited", "at the end
 * of the test"); site, when given, names the fork call site (an address in
 * parent, so only the parent itself can pass it). Reads /proc with open/read only: no allocation. Returns how
 * many were found. */
typedef void mpt__site_fn(uintptr_t addr, char *buf, size_t size);
int mpt__zombie_check(struct mpt__region *r, pid_t parent, const char *when,
		      mpt__finding_fn *emit, mpt__site_fn *site);

#endif
