/* Fault injection in the shim (--inject, --sched=perturb, --pipe-capacity;
 * DESIGN §8): the wrappers ask mpt__inject_call() before the real call.
 *
 * Without a rule, a schedule or a pipe capacity the question costs one
 * well-predicted branch after mpt__shim_on(): mpt__inject_on() reads a flag
 * the runner set in the region before the test started. */
#ifndef MPT_INJECT_H
#define MPT_INJECT_H

#include <errno.h>
#include <stdint.h>
#include <sys/types.h>

#include "shim.h"

/* The calls the wrappers ask about; their rule names are in inject.c
 * (call_name[]), and framework/plan/rules.c accepts exactly those. Some
 * functions are counted as another call: sendto and sendmsg as send,
 * recvfrom and recvmsg as recv, accept4 as accept, openat and creat as
 * open, pread64 and pwrite64 as pread and pwrite,
 * pthread_mutex_clocklock as pthread_mutex_timedlock and sem_clockwait as
 * sem_timedwait. */
enum mpt__call {
	MPT__CALL_READ, MPT__CALL_WRITE, MPT__CALL_FORK, MPT__CALL_WAITPID,
	MPT__CALL_WAIT4, MPT__CALL_PIPE, MPT__CALL_PIPE2, MPT__CALL_OPEN,
	MPT__CALL_CLOSE, MPT__CALL_CONNECT, MPT__CALL_ACCEPT,
	MPT__CALL_MUTEX_LOCK, MPT__CALL_SEM_WAIT,
	MPT__CALL_READV, MPT__CALL_WRITEV, MPT__CALL_PREAD, MPT__CALL_PWRITE,
	MPT__CALL_SEND, MPT__CALL_RECV, MPT__CALL_SOCKET, MPT__CALL_DUP,
	MPT__CALL_DUP2, MPT__CALL_DUP3, MPT__CALL_WAIT, MPT__CALL_WAIT3,
	MPT__CALL_WAITID, MPT__CALL_MUTEX_TRYLOCK, MPT__CALL_MUTEX_TIMEDLOCK,
	MPT__CALL_SEM_TRYWAIT, MPT__CALL_SEM_TIMEDWAIT, MPT__CALL_MALLOC,
	MPT__CALL_CALLOC, MPT__CALL_REALLOC, MPT__CALL_COUNT
};

static inline int mpt__inject_on(void)
{
	return __builtin_expect(mpt__shim_on() && mpt__current->inject.any, 0);
}

/* Whether call needs mpt__inject_call() at all: a rule names it, or
 * --sched=perturb is on (mpt__inject_call() tests the same). Inline, so
 * that the wrappers of calls no rule names pay no function call. */
static inline int mpt__inject_wants(enum mpt__call call)
{
	const struct mpt__inject *in = &mpt__current->inject;
	return ((in->call_mask >> call) & 1) || in->sched == MPT__SCHED_PERTURB;
}

/* Counts the call in this process and applies what fires: delays, signals
 * and kills happen here. A call no rule names (the region's call_mask)
 * returns 0 at once, without --sched=perturb. Returns 0 to go on with the real call,
 * MPT__RULE_ERROR with the errno in *value (the wrapper fails without the
 * real call), or MPT__RULE_SHORT with the byte limit in *value.
 * Async-signal-safe; keeps errno. */
int mpt__inject_call(enum mpt__call call, int64_t *value);

/* Called when the shim becomes active in a process (threads.c): turns on
 * the allocator's injection check when a rule names malloc, calloc or
 * realloc, so that without one malloc pays nothing more. */
void mpt__inject_alloc_setup(void);

/* In a fork child: its calls are counted from 1 again. */
void mpt__inject_fork_child(void);

/* The pipe wrappers: shrinks a new pipe to the --pipe-capacity (to one
 * page when the capacity is below a page). */
void mpt__inject_pipe(int wfd);

/* --pipe-capacity below a page is emulated in the write wrappers: the pipe
 * itself holds one page, and the shim writes at most the capacity minus
 * what the pipe already holds (framework/preload/inject.c). */
static inline int mpt__pipe_emulating(void)
{
	return mpt__inject_on() && mpt__current->inject.pipe_capacity > 0 &&
	       mpt__current->inject.pipe_capacity < MPT__PIPE_EMULATED_BELOW;
}

struct iovec;
/* write() and writev() on fd with the emulated capacity (call is
 * MPT__EMU_WRITE or MPT__EMU_WRITEV). Returns 0 when fd is not a pipe the
 * emulation applies to: the wrapper then makes the real call. Otherwise
 * returns 1 with the call's result in *result (and errno set when it is
 * -1), with pipe semantics: a blocking write returns once every byte is in
 * the pipe, or early on a signal, like a real pipe write. */
int mpt__pipe_write(int fd, const struct iovec *iov, int iovcnt, int call,
		    ssize_t *result);

/* Wrapper prologues. Fail with an errno ... */
#define MPT__INJECT_FAIL(call, failval)                                     \
	do {                                                                \
		int64_t v_;                                                 \
		if (mpt__inject_on() && mpt__inject_wants(call) &&          \
		    mpt__inject_call(call, &v_) == MPT__RULE_ERROR) {       \
			errno = (int)v_;                                    \
			return failval;                                     \
		}                                                           \
	} while (0)
/* ... or transfer fewer bytes (n is the wrapper's byte count) ... */
#define MPT__INJECT_IO(call, n)                                             \
	do {                                                                \
		int64_t v_;                                                 \
		if (mpt__inject_on() && mpt__inject_wants(call)) {          \
			int a_ = mpt__inject_call(call, &v_);               \
			if (a_ == MPT__RULE_ERROR) {                        \
				errno = (int)v_;                            \
				return -1;                                  \
			}                                                   \
			if (a_ == MPT__RULE_SHORT && (n) > (size_t)v_)      \
				(n) = (size_t)v_;                           \
		}                                                           \
	} while (0)
/* ... or, for pthread-style calls, return the errno. */
#define MPT__INJECT_RET(call)                                               \
	do {                                                                \
		int64_t v_;                                                 \
		if (mpt__inject_on() && mpt__inject_wants(call) &&          \
		    mpt__inject_call(call, &v_) == MPT__RULE_ERROR)         \
			return (int)v_;                                     \
	} while (0)

#endif
