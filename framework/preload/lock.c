/* Lock tracking (lock-held; HAZARDS rows 3 and 6).
 *
 * The wrappers below note who holds each process-shared mutex and
 * semaphore in the region's locks[] table (the layout is in
 * framework/core/lockslot.h), and where they took it. Findings come from
 * three places:
 *   - a process that exits holding a process-shared mutex reports itself
 *     here, with its own call site;
 *   - the test leader p0, when it exits, reports the holders that died
 *     before it: killed processes cannot speak for themselves, but a fork
 *     child shares p0's program and layout, so p0 can name their call sites;
 *   - the runner reports what is left at the end of the test: locks still
 *     held by live processes, flock()/fcntl() locks from /proc, and dead
 *     holders nobody reported (framework/inspect/lockend.c).
 *
 * Robust mutexes (HAZARDS row 6): a holder that dies or exits holding one
 * is reported only once nobody can recover the mutex any more: at p0's
 * exit, or at the end of the test. A next locker that gets EOWNERDEAD and
 * calls pthread_mutex_consistent() withdraws it, since that recovery is
 * what the robust protocol is for; one that unlocks without it leaves the
 * mutex unusable (ENOTRECOVERABLE), which is reported, as the death.
 *
 * A condition wait (pthread_cond_wait and friends) releases and retakes
 * the mutex inside libc, past the lock wrappers; its wrappers free the
 * slot for the wait, so a process killed while it waits holds nothing.
 *
 * Semaphores are also used to signal and to count, where a process that
 * takes units it never posts back is the design (a consumer). A holder is
 * reported only for a semaphore used as a lock: nobody ever posted it
 * without having taken a unit first, and the units taken and not posted
 * back have brought its value to 0.
 *
 * A semaphore's value is followed, not read (the object may be unmapped by
 * the time anyone looks): its value when the test first saw it, minus the
 * units every process took and did not post back.
 *
 * Costs: a mutex or semaphore that is not process-shared costs one
 * well-predicted branch on a field of the object itself. A shared one
 * costs a lookup (a per-process cache in front of the region's hash
 * table) and a few stores; the first use of an address in a test also
 * reads /proc/self/maps once, to skip objects in private memory (glibc
 * marks every robust mutex as shared, even a thread-only one).
 * Objects are keyed by address, so a shared object mapped at different
 * addresses in different programs is tracked as several.
 *
 * Internal work uses raw system calls, never the wrappers of fd.c, and
 * allocates nothing until a finding is made. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/kinds.h"
#include "../core/lockslot.h"
#include "../core/procid.h"
#include "../core/util.h"
#include "inject.h"
#include "shim.h"

/* ---- glibc's objects --------------------------------------------------------
 * pthread_mutex_t's __kind (glibc 2.36 nptl/pthreadP.h): PTHREAD_MUTEX_PSHARED_BIT
 * is set by pthread_mutex_init for a process-shared mutex, and for every
 * robust one; PTHREAD_MUTEX_ROBUST_NORMAL_NP marks a robust mutex; the low
 * bits are the type. __owner is the holder's thread id, or
 * PTHREAD_MUTEX_INCONSISTENT between EOWNERDEAD and
 * pthread_mutex_consistent(). */
#define KIND_PSHARED 128
#define KIND_ROBUST 16
#define KIND_TYPE 3
#define OWNER_INCONSISTENT INT_MAX

/* sem_t is glibc's struct new_sem: the value and waiter count, then
 * `private`, which holds FUTEX_PRIVATE_FLAG (128) for a process-shared
 * semaphore (sem_init(s, 1, n), sem_open) and 0 for a private one: the
 * name reads backwards, as glibc's LLL_SHARED does. */
struct glibc_sem {
#if __SIZEOF_POINTER__ == 8
	uint64_t data;
#else
	unsigned value;
#endif
	int private_flag;
};

static inline int shared_mutex(const pthread_mutex_t *m)
{
	return m->__data.__kind & KIND_PSHARED;
}

static inline int shared_sem(const sem_t *s)
{
	return ((const struct glibc_sem *)(const void *)s)->private_flag != 0;
}

/* ---- the real functions -----------------------------------------------------
 * The hot wrappers call through a pointer that starts at a resolver, so a
 * call pays no "resolved yet?" branch; the resolver stores libc's function
 * (dlsym RTLD_NEXT gives the default version of a versioned name such as
 * sem_wait@@GLIBC_2.34) and makes the call. */
#define REAL_VIA_RESOLVER(ret, name, params, args)                          \
	static ret resolve_##name params;                                    \
	static ret(*real_##name) params = resolve_##name;                    \
	static ret resolve_##name params                                     \
	{                                                                    \
		ret(*f) params = (ret(*) params)mpt__real(#name);            \
		__atomic_store_n(&real_##name, f, __ATOMIC_RELAXED);         \
		return f args;                                               \
	}
#define CALL(name) (__atomic_load_n(&real_##name, __ATOMIC_RELAXED))

REAL_VIA_RESOLVER(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
REAL_VIA_RESOLVER(int, pthread_mutex_trylock, (pthread_mutex_t *m), (m))
REAL_VIA_RESOLVER(int, pthread_mutex_unlock, (pthread_mutex_t *m), (m))
REAL_VIA_RESOLVER(int, pthread_mutex_timedlock,
		  (pthread_mutex_t *m, const struct timespec *t), (m, t))
REAL_VIA_RESOLVER(int, pthread_mutex_clocklock,
		  (pthread_mutex_t *m, clockid_t c, const struct timespec *t), (m, c, t))
REAL_VIA_RESOLVER(int, pthread_cond_wait, (pthread_cond_t *c, pthread_mutex_t *m), (c, m))
REAL_VIA_RESOLVER(int, pthread_cond_timedwait,
		  (pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t), (c, m, t))
REAL_VIA_RESOLVER(int, pthread_cond_clockwait,
		  (pthread_cond_t *c, pthread_mutex_t *m, clockid_t k, const struct timespec *t),
		  (c, m, k, t))
REAL_VIA_RESOLVER(int, sem_wait, (sem_t *s), (s))
REAL_VIA_RESOLVER(int, sem_trywait, (sem_t *s), (s))
REAL_VIA_RESOLVER(int, sem_post, (sem_t *s), (s))
REAL_VIA_RESOLVER(int, sem_timedwait, (sem_t *s, const struct timespec *t), (s, t))
REAL_VIA_RESOLVER(int, sem_clockwait,
		  (sem_t *s, clockid_t c, const struct timespec *t), (s, c, t))

#define REAL MPT__REAL

#define SITE() ((uintptr_t)__builtin_return_address(0))

/* fork-with-threads (threads.c): set in a child forked while other threads
 * ran, until its first call that is not async-signal-safe. Taking a
 * private lock there is the classic: another thread may have held it at
 * fork, and in the child nobody ever releases it. A process-shared lock
 * is not in question (its holder lives on in another process), nor is a
 * child of a single-threaded process (never armed). */
extern int mpt__threads_armed;
void mpt__threads_lock_call(const char *call, uintptr_t site);
#define WATCH_PRIVATE(call)                                     \
	do {                                                    \
		if (__builtin_expect(mpt__threads_armed, 0))    \
			mpt__threads_lock_call(call, SITE());   \
	} while (0)

/* The bookkeeping for shared objects stays out of line, so the wrappers'
 * fast path is a test, a branch and a jump. */

/* ---- small helpers (raw system calls: no wrapper, no allocation) ----------- */

static pid_t self_pid(void)
{
	struct mpt__proc *p = mpt__procid_self();
	return p ? p->pid : (pid_t)syscall(SYS_getpid);
}

static void copy(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < n; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = (ssize_t)syscall(SYS_read, fd, buf, size - 1);
	syscall(SYS_close, fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

/* 1 when addr lies in a MAP_SHARED mapping of this process, 0 in a private
 * one, -1 when unknown. A streaming parse with a small buffer: this may run
 * on a signal handler's alternate stack (sem_post is async-signal-safe). */
static int in_shared_memory(uintptr_t addr)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[256];
	uintptr_t lo = 0, hi = 0;
	int field = 0, np = 0, result = -1;
	char perms[4] = "";
	long n;
	while (result < 0 && (n = syscall(SYS_read, fd, buf, sizeof buf)) > 0) {
		for (long i = 0; i < n && result < 0; i++) {
			char c = buf[i];
			if (c == '\n') {
				lo = hi = 0;
				field = np = 0;
				continue;
			}
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (field == 0) {
				if (c == '-')
					field = 1;
				else if (d >= 0)
					lo = lo * 16 + (uintptr_t)d;
			} else if (field == 1) {
				if (c == ' ')
					field = 2;
				else if (d >= 0)
					hi = hi * 16 + (uintptr_t)d;
			} else if (field == 2) {
				perms[np++] = c;
				if (np == 4) {
					field = 3;
					if (addr >= lo && addr < hi)
						result = perms[3] == 's';
					else if (lo > addr)
						result = 0; /* sorted: past it, unmapped */
				}
			}
		}
	}
	syscall(SYS_close, fd);
	return result;
}

/* ---- the table ------------------------------------------------------------ */

static int key_matches(struct mpt__lock *L, int type, uintptr_t addr, pid_t key, int dev)
{
	if (L->type != type || L->addr != addr)
		return 0;
	if (type == MPT__LOCK_MUTEX)
		return 1; /* owner is the holder, not part of the key */
	if (atomic_load_explicit(&L->owner, memory_order_relaxed) != key)
		return 0;
	return (type != MPT__LOCK_FLOCK && type != MPT__LOCK_LOCKF) || L->count == dev;
}

/* The slot for a key, or NULL. With create, an absent key gets a slot
 * published with the given flags; *created says so. NULL as well when the
 * table is full: the object goes untracked. */
static struct mpt__lock *slot_for(int type, uintptr_t addr, pid_t key, int dev,
				  int create, unsigned flags, int *created)
{
	struct mpt__region *r = mpt__current;
	unsigned home = mpt__lockslot_home(type, addr, key, dev);
	if (created)
		*created = 0;
	for (unsigned i = 0; i < MPT__MAX_LOCKS; i++) {
		struct mpt__lock *L = &r->locks[(home + i) % MPT__MAX_LOCKS];
		unsigned u = atomic_load_explicit(&L->used, memory_order_acquire);
		if (u == 0) {
			if (!create)
				return NULL;
			if (atomic_compare_exchange_strong(&L->used, &u, MPT__LS_CLAIMING)) {
				L->type = type;
				L->addr = addr;
				L->count = dev;
				L->site = 0;
				L->owner_id[0] = 0;
				atomic_store_explicit(&L->owner, key, memory_order_relaxed);
				atomic_store_explicit(&L->used, MPT__LS_READY | flags,
						      memory_order_release);
				if (created)
					*created = 1;
				return L;
			}
		}
		/* Another process is filling this slot in: a few instructions,
		 * unless it was killed there; then step over it. */
		for (int spin = 0; (u & MPT__LS_CLAIMING) && spin < 1000; spin++) {
			if (spin > 50)
				sched_yield();
			u = atomic_load_explicit(&L->used, memory_order_acquire);
		}
		if ((u & MPT__LS_READY) && key_matches(L, type, addr, key, dev))
			return L;
	}
	return NULL;
}

static void set_flags(struct mpt__lock *L, unsigned f)
{
	atomic_fetch_or(&L->used, f);
}

static void clear_flags(struct mpt__lock *L, unsigned f)
{
	atomic_fetch_and(&L->used, ~f);
}

/* Each process remembers the slots it used last, by address: a hit skips
 * the hash probe. An entry is checked against the slot's key, which never
 * changes once published, and against the current region, so a stale or
 * inherited entry is only a miss. */
#define CACHE_SIZE 64
static struct mpt__lock *cache[CACHE_SIZE];

static struct mpt__lock **cache_entry(uintptr_t addr)
{
	return &cache[(addr >> 4) % CACHE_SIZE];
}

static struct mpt__lock *lookup(int type, uintptr_t addr, pid_t key)
{
	struct mpt__lock *L = __atomic_load_n(cache_entry(addr), __ATOMIC_RELAXED);
	struct mpt__lock *base = mpt__current->locks;
	if (L && L >= base && L < base + MPT__MAX_LOCKS && key_matches(L, type, addr, key, 0))
		return L;
	L = slot_for(type, addr, key, 0, 0, 0, NULL);
	if (L)
		__atomic_store_n(cache_entry(addr), L, __ATOMIC_RELAXED);
	return L;
}

/* The slot of a shared object, made on first use unless the object lives in
 * private memory (then it is marked and ignored); NULL when untracked. */
static struct mpt__lock *object_slot(int type, uintptr_t addr, unsigned flags)
{
	struct mpt__lock *L = lookup(type, addr, 0);
	if (!L) {
		int e = errno;
		if (in_shared_memory(addr) == 0)
			flags |= MPT__LS_PRIVATE;
		L = slot_for(type, addr, 0, 0, 1, flags, NULL);
		errno = e;
	}
	return L && !(mpt__lockslot_flags(L) & MPT__LS_PRIVATE) ? L : NULL;
}

/* ---- mutexes ---------------------------------------------------------------- */

/* The unresolved ghost of a mutex's dead holder, waiting for the current
 * holder to recover it; NULL if none. Rare: a scan is fine. */
static struct mpt__lock *pending_ghost(uintptr_t addr)
{
	for (int i = 0; i < MPT__MAX_LOCKS; i++) {
		struct mpt__lock *L = &mpt__current->locks[i];
		unsigned u = mpt__lockslot_flags(L);
		if ((u & MPT__LS_READY) && (u & MPT__LS_PENDING) && L->type == MPT__LOCK_GHOST &&
		    L->addr == (addr | 1))
			return L;
	}
	return NULL;
}

/* The next locker got EOWNERDEAD: the holder in the slot died (or exited)
 * holding it. Keep it as a ghost until the mutex is recovered. */
static void holder_died(struct mpt__lock *L, uintptr_t addr, pid_t me)
{
	pid_t dead = atomic_load(&L->owner);
	if (dead <= 0 || dead == me || (mpt__lockslot_flags(L) & MPT__LS_REPORTED))
		return; /* unknown holder, or one already reported */
	int created;
	struct mpt__lock *G = slot_for(MPT__LOCK_GHOST, addr | 1, dead, 0, 1,
				       MPT__LS_ROBUST | MPT__LS_PENDING, &created);
	if (!G)
		return;
	if (!created) /* the same pid died holding it before: reuse */
		clear_flags(G, MPT__LS_RESOLVED | MPT__LS_UNRECOVERABLE | MPT__LS_REPORTED);
	memcpy(G->owner_id, L->owner_id, sizeof G->owner_id);
	G->site = L->site;
	set_flags(G, MPT__LS_PENDING);
}

/* After a successful lock (0 or EOWNERDEAD) of a shared mutex. */
__attribute__((noinline)) static int took_mutex(pthread_mutex_t *m, int r, uintptr_t site)
{
	if ((r != 0 && r != EOWNERDEAD) || !mpt__shim_on())
		return r;
	int kind = m->__data.__kind;
	struct mpt__lock *L = object_slot(MPT__LOCK_MUTEX, (uintptr_t)m,
					  kind & KIND_ROBUST ? MPT__LS_ROBUST : 0);
	/* A recursive mutex taken again by its holder: nothing changes. */
	if (L && !((kind & KIND_TYPE) == PTHREAD_MUTEX_RECURSIVE && m->__data.__count > 1)) {
		pid_t me = self_pid();
		if (r == EOWNERDEAD)
			holder_died(L, (uintptr_t)m, me);
		/* We hold the mutex, so nobody else writes these now. */
		copy(L->owner_id, sizeof L->owner_id, mpt__procid());
		L->site = site;
		if (mpt__lockslot_flags(L) & MPT__LS_REPORTED) /* a new holding */
			clear_flags(L, MPT__LS_REPORTED);
		atomic_store_explicit(&L->owner, me, memory_order_release);
	}
	return r;
}

__attribute__((noinline)) static int unlock_shared(pthread_mutex_t *m)
{
	if (!mpt__shim_on())
		return CALL(pthread_mutex_unlock)(m);
	int kind = m->__data.__kind;
	if ((kind & KIND_TYPE) == PTHREAD_MUTEX_RECURSIVE && m->__data.__count > 1)
		return CALL(pthread_mutex_unlock)(m); /* still held afterwards */
	if ((kind & KIND_ROBUST) && m->__data.__owner == OWNER_INCONSISTENT) {
		/* Unlocked without pthread_mutex_consistent(): glibc marks it
		 * not recoverable, and the death stays a finding. */
		struct mpt__lock *G = pending_ghost((uintptr_t)m);
		if (G) {
			set_flags(G, MPT__LS_UNRECOVERABLE);
			clear_flags(G, MPT__LS_PENDING);
		}
	}
	struct mpt__lock *L = lookup(MPT__LOCK_MUTEX, (uintptr_t)m, 0);
	pid_t me = self_pid(), owner = L ? atomic_load(&L->owner) : 0;
	int r;
	if (owner == me) {
		/* Free the slot first: a process killed between the two steps
		 * then leaves a miss, never a false finding. While we hold the
		 * mutex nobody else writes the slot. */
		atomic_store_explicit(&L->owner, 0, memory_order_release);
		r = CALL(pthread_mutex_unlock)(m);
		if (r != 0) /* not ours after all (another thread's) */
			atomic_store(&L->owner, me);
	} else {
		r = CALL(pthread_mutex_unlock)(m);
		/* A normal mutex unlocked by another process than the one
		 * that locked it: free now, whoever the slot named. */
		if (r == 0 && L && owner != 0)
			atomic_compare_exchange_strong(&L->owner, &owner, 0);
	}
	return r;
}

MPT__EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	MPT__INJECT_RET(MPT__CALL_MUTEX_LOCK);
	if (__builtin_expect(!shared_mutex(m), 1)) {
		WATCH_PRIVATE("pthread_mutex_lock");
		return CALL(pthread_mutex_lock)(m);
	}
	return took_mutex(m, CALL(pthread_mutex_lock)(m), SITE());
}

MPT__EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	MPT__INJECT_RET(MPT__CALL_MUTEX_TRYLOCK);
	if (__builtin_expect(!shared_mutex(m), 1)) {
		WATCH_PRIVATE("pthread_mutex_trylock");
		return CALL(pthread_mutex_trylock)(m);
	}
	return took_mutex(m, CALL(pthread_mutex_trylock)(m), SITE());
}

MPT__EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *t)
{
	MPT__INJECT_RET(MPT__CALL_MUTEX_TIMEDLOCK);
	if (__builtin_expect(!shared_mutex(m), 1)) {
		WATCH_PRIVATE("pthread_mutex_timedlock");
		return CALL(pthread_mutex_timedlock)(m, t);
	}
	return took_mutex(m, CALL(pthread_mutex_timedlock)(m, t), SITE());
}

MPT__EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t c, const struct timespec *t)
{
	MPT__INJECT_RET(MPT__CALL_MUTEX_TIMEDLOCK); /* counted as timedlock */
	if (__builtin_expect(!shared_mutex(m), 1)) {
		WATCH_PRIVATE("pthread_mutex_clocklock");
		return CALL(pthread_mutex_clocklock)(m, c, t);
	}
	return took_mutex(m, CALL(pthread_mutex_clocklock)(m, c, t), SITE());
}

MPT__EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (__builtin_expect(!shared_mutex(m), 1))
		return CALL(pthread_mutex_unlock)(m);
	return unlock_shared(m);
}

/* A condition wait releases the mutex and takes it again inside libc, past
 * the wrappers above: a process killed while it waits does not hold the
 * mutex. The slot is freed for the wait and taken again after it, with the
 * site where the critical section began. */
__attribute__((noinline)) static uintptr_t releasing(pthread_mutex_t *m, uintptr_t site)
{
	if (!mpt__shim_on())
		return site;
	struct mpt__lock *L = lookup(MPT__LOCK_MUTEX, (uintptr_t)m, 0);
	if (L && atomic_load(&L->owner) == self_pid()) {
		if (L->site)
			site = L->site;
		atomic_store_explicit(&L->owner, 0, memory_order_release);
	}
	return site;
}

/* The wait returns with the mutex held, timed out or not. */
static int retook(pthread_mutex_t *m, int r, uintptr_t site)
{
	took_mutex(m, r == ETIMEDOUT ? 0 : r, site);
	return r;
}

MPT__EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	if (__builtin_expect(!shared_mutex(m), 1)) {
		WATCH_PRIVATE("pthread_cond_wait");
		return CALL(pthread_cond_wait)(c, m);
	}
	uintptr_t site = releasing(m, SITE());
	return retook(m, CALL(pthread_cond_wait)(c, m), site);
}

MPT__EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				       const struct timespec *t)
{
	if (__builtin_expect(!shared_mutex(m), 1)) {
		WATCH_PRIVATE("pthread_cond_timedwait");
		return CALL(pthread_cond_timedwait)(c, m, t);
	}
	uintptr_t site = releasing(m, SITE());
	return retook(m, CALL(pthread_cond_timedwait)(c, m, t), site);
}

MPT__EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t k,
				       const struct timespec *t)
{
	if (__builtin_expect(!shared_mutex(m), 1)) {
		WATCH_PRIVATE("pthread_cond_clockwait");
		return CALL(pthread_cond_clockwait)(c, m, k, t);
	}
	uintptr_t site = releasing(m, SITE());
	return retook(m, CALL(pthread_cond_clockwait)(c, m, k, t), site);
}

static int consistent(int (*real)(pthread_mutex_t *), pthread_mutex_t *m)
{
	int r = real(m);
	if (r == 0 && shared_mutex(m) && mpt__shim_on()) {
		struct mpt__lock *G = pending_ghost((uintptr_t)m);
		if (G) {
			set_flags(G, MPT__LS_RESOLVED);
			clear_flags(G, MPT__LS_PENDING);
		}
	}
	return r;
}

MPT__EXPORT int pthread_mutex_consistent(pthread_mutex_t *m)
{
	REAL(int, pthread_mutex_consistent, (pthread_mutex_t *));
	return consistent(real_pthread_mutex_consistent, m);
}

/* The old name, which glibc 2.34 keeps only for old binaries (the header
 * now redirects it), so it has no default version for dlsym to find: the
 * real function behind it is pthread_mutex_consistent. */
MPT__EXPORT int consistent_np(pthread_mutex_t *m) __asm__("pthread_mutex_consistent_np");
MPT__EXPORT int consistent_np(pthread_mutex_t *m)
{
	REAL(int, pthread_mutex_consistent, (pthread_mutex_t *));
	return consistent(real_pthread_mutex_consistent, m);
}

/* ---- semaphores ------------------------------------------------------------- */

/* This process's slot for a shared semaphore (and the semaphore's own slot,
 * made on first sight with its value then); NULL when untracked. */
static struct mpt__lock *sem_slot(sem_t *s, pid_t me, int taken)
{
	struct mpt__lock *L = lookup(MPT__LOCK_SEM, (uintptr_t)s, me);
	if (L)
		return L;
	int e = errno;
	struct mpt__lock *info = slot_for(MPT__LOCK_SEM, (uintptr_t)s, 0, 0, 0, 0, NULL);
	if (!info) {
		int v = 0, created;
		REAL(int, sem_getvalue, (sem_t *, int *));
		real_sem_getvalue(s, &v);
		unsigned flags = in_shared_memory((uintptr_t)s) == 0 ? MPT__LS_PRIVATE : 0;
		info = slot_for(MPT__LOCK_SEM, (uintptr_t)s, 0, 0, 1, flags, &created);
		if (info && created)
			info->count = v + taken; /* the value before our own take */
	}
	errno = e;
	if (!info || (mpt__lockslot_flags(info) & MPT__LS_PRIVATE))
		return NULL;
	L = slot_for(MPT__LOCK_SEM, (uintptr_t)s, me, 0, 1, 0, NULL);
	if (L)
		__atomic_store_n(cache_entry((uintptr_t)s), L, __ATOMIC_RELAXED);
	return L;
}

/* After a successful sem_wait and friends on a shared semaphore. */
__attribute__((noinline)) static int took_unit(sem_t *s, int r, uintptr_t site)
{
	if (r != 0 || !mpt__shim_on())
		return r;
	struct mpt__lock *L = sem_slot(s, self_pid(), 1);
	if (L) {
		if (!L->owner_id[0])
			copy(L->owner_id, sizeof L->owner_id, mpt__procid());
		L->site = site;
		__atomic_fetch_add(&L->count, 1, __ATOMIC_RELEASE);
	}
	return r;
}

MPT__EXPORT int sem_wait(sem_t *s)
{
	MPT__INJECT_FAIL(MPT__CALL_SEM_WAIT, -1);
	if (__builtin_expect(!shared_sem(s), 1)) {
		WATCH_PRIVATE("sem_wait");
		return CALL(sem_wait)(s);
	}
	return took_unit(s, CALL(sem_wait)(s), SITE());
}

MPT__EXPORT int sem_trywait(sem_t *s)
{
	MPT__INJECT_FAIL(MPT__CALL_SEM_TRYWAIT, -1);
	if (__builtin_expect(!shared_sem(s), 1)) {
		WATCH_PRIVATE("sem_trywait");
		return CALL(sem_trywait)(s);
	}
	return took_unit(s, CALL(sem_trywait)(s), SITE());
}

MPT__EXPORT int sem_timedwait(sem_t *s, const struct timespec *t)
{
	MPT__INJECT_FAIL(MPT__CALL_SEM_TIMEDWAIT, -1);
	if (__builtin_expect(!shared_sem(s), 1)) {
		WATCH_PRIVATE("sem_timedwait");
		return CALL(sem_timedwait)(s, t);
	}
	return took_unit(s, CALL(sem_timedwait)(s, t), SITE());
}

MPT__EXPORT int sem_clockwait(sem_t *s, clockid_t c, const struct timespec *t)
{
	MPT__INJECT_FAIL(MPT__CALL_SEM_TIMEDWAIT, -1); /* counted as timedwait */
	if (__builtin_expect(!shared_sem(s), 1)) {
		WATCH_PRIVATE("sem_clockwait");
		return CALL(sem_clockwait)(s, c, t);
	}
	return took_unit(s, CALL(sem_clockwait)(s, c, t), SITE());
}

__attribute__((noinline)) static int post_shared(sem_t *s)
{
	if (!mpt__shim_on())
		return CALL(sem_post)(s);
	struct mpt__lock *L = sem_slot(s, self_pid(), 0);
	if (L) {
		/* Count first: killed in between, the unit is lost and the
		 * count shows it, rather than the other way round. */
		int had = __atomic_fetch_sub(&L->count, 1, __ATOMIC_RELEASE);
		if (had <= 0) {
			struct mpt__lock *info = slot_for(MPT__LOCK_SEM, (uintptr_t)s, 0, 0, 0, 0, NULL);
			if (info && !(mpt__lockslot_flags(info) & MPT__LS_PUREPOST))
				set_flags(info, MPT__LS_PUREPOST);
		}
	}
	int r = CALL(sem_post)(s);
	if (r != 0 && L)
		__atomic_fetch_add(&L->count, 1, __ATOMIC_RELEASE);
	return r;
}

MPT__EXPORT int sem_post(sem_t *s)
{
	if (__builtin_expect(!shared_sem(s), 1))
		return CALL(sem_post)(s);
	return post_shared(s);
}

/* A semaphore (re)initialized in the test starts afresh: its value is
 * known exactly, and nobody holds a unit of it. */
MPT__EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
	REAL(int, sem_init, (sem_t *, int, unsigned));
	int r = real_sem_init(s, pshared, value);
	if (r != 0 || !pshared || !mpt__shim_on())
		return r;
	int e = errno;
	unsigned flags = in_shared_memory((uintptr_t)s) == 0 ? MPT__LS_PRIVATE : 0;
	struct mpt__lock *info = slot_for(MPT__LOCK_SEM, (uintptr_t)s, 0, 0, 1, flags, NULL);
	if (info) {
		info->count = (int)value;
		clear_flags(info, MPT__LS_PUREPOST | MPT__LS_PRIVATE | MPT__LS_REPORTED);
		set_flags(info, flags);
		for (int i = 0; i < MPT__MAX_LOCKS; i++) {
			struct mpt__lock *L = &mpt__current->locks[i];
			if ((mpt__lockslot_flags(L) & MPT__LS_READY) && L->type == MPT__LOCK_SEM &&
			    L->addr == (uintptr_t)s && L != info) {
				__atomic_store_n(&L->count, 0, __ATOMIC_RELEASE);
				clear_flags(L, MPT__LS_REPORTED);
			}
		}
	}
	errno = e;
	return r;
}

/* ---- file locks: call sites only; /proc says what is held ----------------- */

static void file_lock_call(int type, int fd, int held, uintptr_t site)
{
	int e = errno;
	struct stat st;
	if (fstat(fd, &st) == 0) {
		int dev = MPT__LS_DEV(major(st.st_dev), minor(st.st_dev));
		struct mpt__lock *L = slot_for(type, (uintptr_t)st.st_ino, self_pid(), dev,
					       held, 0, NULL);
		if (L && held) {
			copy(L->owner_id, sizeof L->owner_id, mpt__procid());
			L->site = site;
			set_flags(L, MPT__LS_HELD);
		} else if (L) {
			clear_flags(L, MPT__LS_HELD);
		}
	}
	errno = e;
}

MPT__EXPORT int flock(int fd, int op)
{
	REAL(int, flock, (int, int));
	int r = real_flock(fd, op);
	if (r == 0 && mpt__shim_on())
		file_lock_call(MPT__LOCK_FLOCK, fd, !(op & LOCK_UN), SITE());
	return r;
}

static int lockf_common(int (*real)(int, int, off_t), int fd, int cmd, off_t len,
			uintptr_t site)
{
	int r = real(fd, cmd, len);
	if (r == 0 && cmd != F_TEST && mpt__shim_on())
		file_lock_call(MPT__LOCK_LOCKF, fd, cmd != F_ULOCK, site);
	return r;
}

MPT__EXPORT int lockf(int fd, int cmd, off_t len)
{
	REAL(int, lockf, (int, int, off_t));
	return lockf_common(real_lockf, fd, cmd, len, SITE());
}

MPT__EXPORT int lockf64(int fd, int cmd, off_t len)
{
	REAL(int, lockf64, (int, int, off_t));
	return lockf_common(real_lockf64, fd, cmd, len, SITE());
}

/* ---- at exit ------------------------------------------------------------------ */

/* Whether pid still runs: not in the table as ended, and not gone or a
 * zombie in /proc. */
static int alive(struct mpt__region *r, pid_t pid)
{
	struct mpt__proc *p = mpt__proc_find(r, pid);
	if (p && atomic_load(&p->state) != MPT__PS_RUNNING)
		return 0;
	char path[48], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof buf) <= 0)
		return 0;
	char *q = strrchr(buf, ')');
	return q && q[1] == ' ' && q[2] != 'Z' && q[2] != 'X';
}

/* "exited with status 1", "was killed by SIGKILL", from the table or, for a
 * child not reaped yet, from /proc. */
static void how_it_ended(struct mpt__region *r, pid_t pid, pid_t me, char *buf, size_t n)
{
	struct mpt__proc *p = mpt__proc_find(r, pid);
	int status = -1;
	char sig[16];
	if (p && atomic_load(&p->state) == MPT__PS_REAPED)
		status = p->status;
	else if (p && (pid == me || atomic_load(&p->state) == MPT__PS_EXITED))
		status = (p->exited_code & 0xff) << 8;
	else {
		char path[48], st[1024];
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		char *q = read_small(path, st, sizeof st) > 0 ? strrchr(st, ')') : NULL;
		for (int field = 2; q && *q; q++)
			if (*q == ' ' && ++field == 52) {
				status = (int)strtol(q + 1, NULL, 10);
				break;
			}
	}
	if (status >= 0 && WIFSIGNALED(status))
		snprintf(buf, n, "was killed by %s", mpt__signal_name(WTERMSIG(status), sig));
	else if (status >= 0)
		snprintf(buf, n, "exited (status %d)", WEXITSTATUS(status));
	else
		snprintf(buf, n, "ended");
}

/* Names a holder's call site in this process: its own, or a fork relative
 * running the same program (same layout). Empty when unknown. */
static void site_text(struct mpt__region *r, pid_t pid, pid_t me, uintptr_t site,
		      char *buf, size_t n)
{
	buf[0] = 0;
	if (!site)
		return;
	struct mpt__proc *p = mpt__proc_find(r, pid), *self = mpt__procid_self();
	if (pid == me || (p && self && !strncmp(p->prog, self->prog, sizeof p->prog)))
		mpt__site_text(site, buf, n);
	if (!buf[0])
		snprintf(buf, n, "%#lx", (unsigned long)site);
}

static void report(struct mpt__region *r, struct mpt__lock *L, pid_t pid, pid_t me,
		   const char *what, const char *object, const char *took,
		   const char *advice)
{
	/* The first to flag it reports it: p0 and the runner may both look. */
	if (atomic_fetch_or(&L->used, MPT__LS_REPORTED) & MPT__LS_REPORTED)
		return;
	struct mpt__proc *p = mpt__proc_find(r, pid);
	char id[sizeof L->owner_id];
	memcpy(id, L->owner_id, sizeof id);
	id[sizeof id - 1] = 0;
	if (!id[0] && p)
		copy(id, sizeof id, p->id);
	char msg[600], detail[1000], site[200];
	snprintf(msg, sizeof msg, "%s (pid %d%s%s) %s %s", id[0] ? id : "a process", (int)pid,
		 p && p->prog[0] ? ", " : "", p ? p->prog : "", what, object);
	site_text(r, pid, me, L->site, site, sizeof site);
	snprintf(detail, sizeof detail, "%s at %s. %s", took, site, advice);
	mpt__shim_finding_for(MPT__K_LOCK_HELD, pid, id[0] ? id : NULL, msg, detail);
}

static void check_slot(struct mpt__region *r, struct mpt__lock *L, pid_t me, int leader)
{
	unsigned u = mpt__lockslot_flags(L);
	if (!(u & MPT__LS_READY) || (u & (MPT__LS_PRIVATE | MPT__LS_REPORTED)) ||
	    L->type == MPT__LOCK_FLOCK || L->type == MPT__LOCK_LOCKF)
		return; /* file locks end with their process */
	pid_t owner = atomic_load(&L->owner);
	if (owner <= 0)
		return;
	int robust = (u & MPT__LS_ROBUST) != 0;
	char what[96], object[96];
	if (owner == me)
		snprintf(what, sizeof what, "exited while holding");
	else if (!leader || alive(r, owner))
		return; /* only p0 speaks for others, and only for the dead */
	else {
		char how[64];
		how_it_ended(r, owner, me, how, sizeof how);
		snprintf(what, sizeof what, "%s while holding", how);
	}
	switch (L->type) {
	case MPT__LOCK_MUTEX:
		/* A robust mutex can still be recovered by the next locker,
		 * until p0 ends. */
		if (robust && !leader)
			return;
		snprintf(object, sizeof object, "process-shared %smutex %#lx",
			 robust ? "robust " : "", (unsigned long)L->addr);
		report(r, L, owner, me, what, object, "Locked",
		       robust ? MPT__LS_ADVICE_ROBUST
			      : owner == me ? MPT__LS_ADVICE_EXIT : MPT__LS_ADVICE_KILLED);
		break;
	case MPT__LOCK_GHOST:
		if (!leader || (u & MPT__LS_RESOLVED))
			return;
		snprintf(object, sizeof object, "process-shared robust mutex %#lx",
			 (unsigned long)(L->addr & ~(uintptr_t)1));
		report(r, L, owner, me, what, object, "Locked",
		       u & MPT__LS_UNRECOVERABLE ? MPT__LS_ADVICE_UNRECOVERABLE
						 : MPT__LS_ADVICE_ROBUST);
		break;
	case MPT__LOCK_SEM: {
		int units = __atomic_load_n(&L->count, __ATOMIC_ACQUIRE), value;
		/* Semaphores are judged on the whole test's use: by p0. */
		if (!leader || units <= 0 || !mpt__lockslot_sem_stuck(r, L->addr, &value))
			return;
		snprintf(object, sizeof object, "%d unit%s of process-shared semaphore %#lx "
			 "(its value is now %d)", units, units == 1 ? "" : "s",
			 (unsigned long)L->addr, value < 0 ? 0 : value);
		report(r, L, owner, me, what, object, "Taken", MPT__LS_ADVICE_SEM);
		break;
	}
	default:
		break;
	}
}

void mpt__lock_at_exit(void)
{
	struct mpt__region *r = mpt__current;
	if (!r)
		return;
	int e = errno;
	pid_t me = self_pid();
	int leader = r->leader == me;
	for (int i = 0; i < MPT__MAX_LOCKS; i++)
		check_slot(r, &r->locks[i], me, leader);
	errno = e;
}
