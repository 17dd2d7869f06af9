/* The interposition shim: libc wrappers active in every process of a test.
 *
 * The same sources are linked into libmptest (API tests) and built as
 * libmptest-preload.so (mpt-run, and programs a test execs). Outside a test
 * every wrapper passes straight through. Rules for every wrapper:
 *   - keep errno as the real call left it;
 *   - allocate nothing in fork's path, and do only async-signal-safe work
 *     where the real call is async-signal-safe;
 *   - stay cheap when nothing is injected: one well-predicted branch on
 *     mpt__shim_on() before any bookkeeping. */
#ifndef MPT_SHIM_H
#define MPT_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/region.h"
#include "../inspect/zombie.h"

/* Interposed names must be exported from the hidden-visibility library. */
#define MPT__EXPORT __attribute__((visibility("default")))

/* 1 when this process is inside a test and this copy of the shim is the one
 * doing the bookkeeping (a test program that loads both libmptest and the
 * preload library lets the preload library do it). */
extern int mpt__shim_active;
static inline int mpt__shim_on(void)
{
	return __builtin_expect(mpt__shim_active && mpt__current != 0, 0);
}

/* Calls of the process and descriptor wrappers so far in this process: a
 * parent that made none between starting a child and exiting did not live
 * on past it (see mpt__shim_at_exit). Bumped without a locked instruction:
 * a count lost to a race between threads only has to differ from before. */
extern unsigned long mpt__calls;
static inline void mpt__count_call(void)
{
	__atomic_store_n(&mpt__calls, __atomic_load_n(&mpt__calls, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}
/* The child the last fork or posix_spawn of this process started, and
 * mpt__calls and the monotonic clock (ns) right after it. */
extern pid_t mpt__last_child;
extern unsigned long mpt__last_child_calls;
extern int64_t mpt__last_child_ns;
void mpt__note_child(pid_t child);

/* The next definition of a libc function (dlsym RTLD_NEXT), cached by the
 * caller: static T (*real)(...); if (!real) real = mpt__real("name"); */
void *mpt__real(const char *name);

/* In a wrapper: declares real_NAME, the next definition of NAME, looked up
 * once. The _COUNTED form also counts the call (mpt__count_call). */
#define MPT__REAL(ret, name, args)                            \
	static ret(*real_##name) args MPT__HOT;               \
	if (!real_##name)                                     \
		real_##name = (ret(*) args)mpt__real(#name)
#define MPT__REAL_COUNTED(ret, name, args)                    \
	MPT__REAL(ret, name, args);                           \
	mpt__count_call()

/* Records a finding made by this process: its pid and logical id are filled
 * in; detail may be NULL. Safe after fork in a threaded process (no
 * allocation). */
void mpt__shim_finding(int kind, const char *message, const char *detail);

/* The same for another process of the test (pid, logical id). */
void mpt__shim_finding_for(int kind, pid_t pid, const char *id,
			   const char *message, const char *detail);

/* "function (file.c:12)" or "module+0x1234" for an address of this process;
 * empty when unknown. May allocate: not for fork's path. */
void mpt__site_text(uintptr_t addr, char *buf, size_t size);

/* Per-process checks run when a process of the test exits through exit()
 * or _exit() (the shim's own, or the leader's end of body). */
void mpt__shim_at_exit(int code, unsigned long calls);

/* For mpt_assert_fds_unchanged(): the descriptors this process opened
 * since the shim started in it and still holds (harness ones excluded),
 * described into buf; returns how many. */
int mpt__fd_opened_since_start(char *buf, size_t size);

/* Registers the exit checks (on_exit) in this process and its forks. */
void mpt__shim_register_exit(void);

/* Hooks the concerns implement (fd.c, lock.c, stdio.c, threads.c);
 * proc.c calls them at fork, exec and exit. */
void mpt__fd_before_exec(void);
void mpt__fd_at_exit(void);
void mpt__lock_at_exit(void);
void mpt__stdio_fork_prepare(void);
void mpt__stdio_fork_parent(void);
void mpt__stdio_fork_child(void);
void mpt__stdio_at_exit(int via_exit);
void mpt__threads_fork_prepare(void);
void mpt__threads_fork_child(void);


#endif
