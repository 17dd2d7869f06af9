/* How the shim (framework/preload/lock.c) fills the region's locks[] table
 * and how the runner (framework/inspect/lockend.c) reads it.
 *
 * The table is an open-addressing hash: a slot's home is a hash of its key
 * and a lookup probes onwards from there. Slots are never freed during a
 * test, so an empty slot ends a probe, and two processes claiming the same
 * key race for the same first empty slot (a CAS on `used`), so no key gets
 * two slots. A claimer sets `used` to MPT__LS_CLAIMING, fills the key, and
 * publishes with MPT__LS_READY; a claimer SIGKILLed half-way leaves a slot
 * that lookups step over.
 *
 * `used` carries the slot's state flags in its upper bits (the region has
 * no field for them); readers that only need "claimed" test it for
 * non-zero, as the watchdog does. Flags change only with atomic or/and.
 *
 * One slot kind per use, keyed as follows:
 *   MPT__LOCK_MUTEX  addr = the mutex. owner = the pid holding it (0 when
 *                    free), owner_id and site = its logical id and the
 *                    return address of its lock call.
 *   MPT__LOCK_GHOST  addr = the mutex | 1 (so the watchdog, which matches
 *                    futex addresses, never takes it for the mutex); owner =
 *                    a pid that died or exited holding a robust mutex whose
 *                    next locker got EOWNERDEAD. owner_id and site are the
 *                    dead holder's. Kept until the locker recovers the
 *                    mutex with pthread_mutex_consistent().
 *   MPT__LOCK_SEM    owner = 0: the semaphore itself; count = its value
 *                    when the test first saw it (sem_init's value, or
 *                    sem_getvalue before the first tracked call).
 *                    owner = pid: that process's use of it; count = units
 *                    it took minus units it posted, site = where it last
 *                    took one.
 *   MPT__LOCK_FLOCK, MPT__LOCK_LOCKF
 *                    addr = inode, count = device (MPT__LS_DEV), owner =
 *                    the pid that called flock()/lockf(); site = that call,
 *                    MPT__LS_HELD while it holds it. Only a call-site hint
 *                    for the end of the test: what is held comes from
 *                    /proc. */
#ifndef MPT_LOCKSLOT_H
#define MPT_LOCKSLOT_H

#include "region.h"

enum { MPT__LOCK_FLOCK = 3, MPT__LOCK_LOCKF = 4, MPT__LOCK_GHOST = 5 };

#define MPT__LS_READY         (1u << 0)  /* published: the key is complete */
#define MPT__LS_CLAIMING      (1u << 1)  /* being filled in */
#define MPT__LS_ROBUST        (1u << 4)  /* mutex, ghost: a robust mutex */
#define MPT__LS_PRIVATE       (1u << 5)  /* not in shared memory: ignored */
#define MPT__LS_REPORTED      (1u << 6)  /* a finding was made for this holder */
#define MPT__LS_PENDING       (1u << 7)  /* ghost: the locker has not recovered it yet */
#define MPT__LS_RESOLVED      (1u << 8)  /* ghost: recovered; not a finding */
#define MPT__LS_UNRECOVERABLE (1u << 9)  /* ghost: unlocked without recovery */
#define MPT__LS_PUREPOST      (1u << 10) /* semaphore: posted by a process that
					  * had taken none: a signal, not a lock */
#define MPT__LS_HELD          (1u << 11) /* flock, lockf: held now */

/* Device numbers as /proc/locks prints them (major:minor), in one int. */
#define MPT__LS_DEV(major, minor) ((int)(((unsigned)(major) << 20) | ((unsigned)(minor) & 0xfffff)))

/* The one line of advice each lock-held finding ends with; the shim and the
 * runner say the same thing for the same case. */
#define MPT__LS_ADVICE_EXIT                                                        \
	"Every other process that locks it now waits forever. Unlock it on every " \
	"path out of the critical section, before the process ends; if a holder "  \
	"may die anyway, make it robust (pthread_mutexattr_setrobust) and call "   \
	"pthread_mutex_consistent() on EOWNERDEAD."
#define MPT__LS_ADVICE_KILLED                                                      \
	"A process killed inside a critical section leaves the mutex locked for "  \
	"good and the shared state half-updated. Ask workers to stop (a pipe, a "  \
	"flag checked outside the lock) and wait for them; if a holder may die "   \
	"anyway, make the mutex robust (pthread_mutexattr_setrobust) and have the " \
	"next locker repair the state and call pthread_mutex_consistent() on "     \
	"EOWNERDEAD."
#define MPT__LS_ADVICE_ROBUST                                                      \
	"The mutex is robust but nobody recovered it: the next locker gets "       \
	"EOWNERDEAD and must repair the shared state and call "                    \
	"pthread_mutex_consistent(), or unlocking leaves the mutex unusable "      \
	"(ENOTRECOVERABLE)."
#define MPT__LS_ADVICE_UNRECOVERABLE                                               \
	"The next locker got EOWNERDEAD and unlocked it without calling "          \
	"pthread_mutex_consistent(), so the mutex is now unusable "                \
	"(ENOTRECOVERABLE): repair the shared state and call "                     \
	"pthread_mutex_consistent() before unlocking."
#define MPT__LS_ADVICE_SEM                                                         \
	"The semaphore is used as a lock and the unit was never posted back, so "  \
	"the next sem_wait() waits forever. Post it on every path out of the "     \
	"critical section; if a holder may be killed, guard the state with a "     \
	"robust mutex instead, which the kernel hands on when its owner dies."
#define MPT__LS_ADVICE_END                                                         \
	"Every other process that wants it waits until the holder lets go. "       \
	"Release locks and stop the processes that hold them before the test "     \
	"ends."
#define MPT__LS_ADVICE_FILE                                                        \
	"Every other process that locks the file waits until the holder lets go. " \
	"Unlock it (LOCK_UN, F_UNLCK) or close the file, and stop the process, "   \
	"before the test ends."

/* The slot's home: the key's hash. */
static inline unsigned mpt__lockslot_home(int type, uintptr_t addr, pid_t key, int dev)
{
	uint64_t h = (uint64_t)addr * 0x9e3779b97f4a7c15ull;
	h ^= ((uint64_t)(unsigned)key << 32 | (unsigned)dev) * 0xc2b2ae3d27d4eb4full;
	h ^= (uint64_t)(unsigned)type * 0x165667b19e3779f9ull;
	return (unsigned)((h ^ (h >> 29)) % MPT__MAX_LOCKS);
}

/* The slot's state flags (`used`). */
static inline unsigned mpt__lockslot_flags(struct mpt__lock *L)
{
	return atomic_load_explicit(&L->used, memory_order_acquire);
}

/* Whether the semaphore at addr, used as a lock, has been emptied by the
 * units still out (taken and not posted back); *value is what it holds
 * then. The shim and the runner make the same judgement with it. */
static inline int mpt__lockslot_sem_stuck(struct mpt__region *r, uintptr_t addr, int *value)
{
	struct mpt__lock *info = NULL;
	long out = 0;
	for (int i = 0; i < MPT__MAX_LOCKS; i++) {
		struct mpt__lock *L = &r->locks[i];
		if (!(mpt__lockslot_flags(L) & MPT__LS_READY) || L->type != MPT__LOCK_SEM ||
		    L->addr != addr)
			continue;
		if (atomic_load(&L->owner) == 0)
			info = L;
		else
			out += __atomic_load_n(&L->count, __ATOMIC_ACQUIRE);
	}
	if (!info || (mpt__lockslot_flags(info) & (MPT__LS_PUREPOST | MPT__LS_PRIVATE)))
		return 0;
	*value = info->count - (int)out;
	return *value <= 0;
}

#endif
