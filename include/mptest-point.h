/* MPT_POINT("name"): a named point in code under test (DESIGN §8).
 *
 * Under mptest (a test linked with libmptest, or a program run by mpt-run)
 * a point is an injection target: --inject=point=NAME:ACTION rules apply
 * there (kill[=SIG], delay=DUR, signal=SIG), and --sched=perturb may delay
 * there. Without the harness it is a no-op costing one well-predicted
 * branch, and the program needs no link against libmptest: the hook is a
 * weak reference that stays null unless the shim provides it.
 *
 *   pthread_mutex_lock(&shared->lock);
 *   MPT_POINT("child.locked");          // a kill here leaves lock-held
 *   shared->count++;
 *   pthread_mutex_unlock(&shared->lock);
 *
 * NAME is a string literal of [A-Za-z0-9_.-]+, at most 63 bytes. */
#ifndef MPTEST_POINT_H
#define MPTEST_POINT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Provided by libmptest and libmptest-preload.so; null without them. */
extern void mpt_point_hit(const char *name) __attribute__((weak));

#define MPT_POINT(name)                                            \
	do {                                                       \
		if (__builtin_expect(mpt_point_hit != 0, 0))       \
			mpt_point_hit(name);                       \
	} while (0)

#ifdef __cplusplus
}
#endif

#endif
