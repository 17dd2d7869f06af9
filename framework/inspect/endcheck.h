/* Checks the runner makes at the end of a test, from the region and /proc,
 * before it kills what is left. pids are the test's live processes (the
 * leader is gone by then); emit adds a finding to the test's result. */
#ifndef MPT_ENDCHECK_H
#define MPT_ENDCHECK_H

#include <sys/types.h>

#include "zombie.h"

struct mpt__region;

/* fd-leak: carried descriptors no program ever used (framework/inspect/fdend.c). */
void mpt__fd_end_of_test(struct mpt__region *r, const pid_t *pids, int n,
			 mpt__finding_fn *emit);
/* lock-held: locks still held, by the dead or the living (framework/inspect/lockend.c). */
void mpt__lock_end_of_test(struct mpt__region *r, const pid_t *pids, int n,
			   mpt__finding_fn *emit);

#endif
