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
 * of the test"), and names where each was forked (symbolized in the live
 * parent). Reads /proc with open/read; only a zombie found costs an allocation (the
 * symbolizer). Returns how
 * many were found. A child numbered except (0: none) is left out: a parent
 * that exits right after starting it did not live on past its exit. */
int mpt__zombie_check(struct mpt__region *r, pid_t parent, const char *when,
		      pid_t except, mpt__finding_fn *emit);

#endif
