/* Fault injection in the shim: counts the interposed calls of this process,
 * decides with the rules the runner put in the region (a pure function of
 * seed, logical id and call count, framework/plan/rules.h), applies what
 * fires and logs every applied fault in the region for the reports. Also
 * the seeded delays of --sched=perturb, the --pipe-capacity shrink and its
 * emulation below a page, and the MPT_POINT entry point
 * (include/mptest-point.h). */
#define _GNU_SOURCE
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../core/procid.h"

/* Rule names of enum mpt__call: framework/plan/rules.c's table. */
#define call_name mpt__rule_call_names
_Static_assert(MPT__CALL_REALLOC == 32 && MPT__CALL_COUNT == 33 &&
		       MPT__RULE_CALLS == MPT__CALL_COUNT,
	       "mpt__rule_call_names[] follows enum mpt__call");

/* Calls counted in this process since it started (or forked). */
static uint64_t counts[MPT__CALL_COUNT];

/* Points hit in this process, by name: a small table claimed slot by slot. */
#define POINTS 32
static struct {
	_Atomic int used;  /* 0 free, 1 being filled, 2 ready */
	char name[MPT__RULE_NAME_SIZE];
	uint64_t count;
} points[POINTS];

/* Calls and points seen by --sched=perturb in this process. */
static uint64_t sched_count;

void mpt__inject_fork_child(void)
{
	memset(counts, 0, sizeof counts);
	for (int i = 0; i < POINTS; i++) {
		points[i].count = 0;
	}
	sched_count = 0;
}

static void copy(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < n; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

static void sleep_ns(int64_t ns)
{
	struct timespec t = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
	while (syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &t, &t) != 0 &&
	       errno == EINTR)
		;
}

/* Appends an applied fault to the region's log (dropped when it is full:
 * the reports say how many were dropped). */
static void log_fault(const char *call, const char *point, uint64_t count,
		      const char *action)
{
	struct mpt__inject *in = &mpt__current->inject;
	unsigned i = atomic_fetch_add(&in->nfaults, 1);
	if (i >= MPT__MAX_FAULTS)
		return;
	struct mpt__fault *f = &in->faults[i];
	f->pid = (pid_t)syscall(SYS_getpid);
	f->count = count;
	copy(f->process, sizeof f->process, mpt__procid());
	if (point) {
		char buf[MPT__RULE_NAME_SIZE + 8] = "point=";
		copy(buf + 6, sizeof buf - 6, point);
		copy(f->call, sizeof f->call, buf);
	} else {
		copy(f->call, sizeof f->call, call);
	}
	copy(f->action, sizeof f->action, action);
	atomic_store_explicit(&f->ready, 1, memory_order_release);
}

static void die_by(int sig)
{
	raise(sig);
	/* Handled, ignored or blocked: kill means the process ends. */
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigaction(sig, &dfl, NULL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
	raise(SIGKILL);
}

/* A counter-based hash: splitmix64's finalizer. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* --sched=perturb: a delay of 0-2 ms at one call in four, decided from
 * (seed, logical id, the process's count of calls and points). */
static void perturb(const struct mpt__inject *in, const char *id)
{
	uint64_t n = __atomic_add_fetch(&sched_count, 1, __ATOMIC_RELAXED);
	uint64_t h = 1469598103934665603ull;
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	uint64_t x = mix(mix(in->seed ^ 0x70657274ull) ^ h ^ mix(n));
	if ((x & 3) == 0)
		sleep_ns((int64_t)((x >> 8) % 2000001));
}

/* The rules for a call (call >= 0, an enum mpt__call) or a point (call < 0)
 * in this process at its count-th call or hit; see mpt__inject_call. Each
 * rule's conditions are tested cheapest first (its target, then nth=,
 * every= and after= on the count, then the process, then p=): they are all
 * required and each a pure function of (rule, seed, logical id, count), so
 * the order changes nothing but the cost. */
static int apply(int call, const char *point, uint64_t count, int64_t *value)
{
	struct mpt__inject *in = &mpt__current->inject;
	const char *id = mpt__procid();
	if (in->sched == MPT__SCHED_PERTURB)
		perturb(in, id);
	int result = 0, chosen = -1;
	const char *cname = call >= 0 ? call_name[call] : NULL;
	unsigned n = in->nrules < MPT__MAX_RULES ? in->nrules : MPT__MAX_RULES;
	for (unsigned i = 0; i < n; i++) {
		const struct mpt__rule *r = &in->rules[i];
		if (call >= 0 ? in->rule_call[i] != call
			      : r->target != MPT__RULE_POINT || strcmp(r->name, point) != 0)
			continue;
		if (!mpt__rule_count_allows(r, count))
			continue;
		struct mpt__proc *self = mpt__procid_self();
		if (!mpt__rule_matches_process(r, id, self ? self->prog : NULL) ||
		    !mpt__rule_fires(r, in->seed, id, count))
			continue;
		switch (r->action) {
		case MPT__RULE_ERROR:
			if (result == MPT__RULE_ERROR)
				continue; /* the first error wins */
			result = MPT__RULE_ERROR;
			*value = r->value;
			chosen = (int)i;
			break;
		case MPT__RULE_SHORT:
			if (result == MPT__RULE_ERROR ||
			    (result == MPT__RULE_SHORT && *value <= r->value))
				continue;
			result = MPT__RULE_SHORT;
			*value = r->value;
			chosen = (int)i;
			break;
		case MPT__RULE_DELAY:
			log_fault(cname, point, count, in->action[i]);
			sleep_ns(r->value);
			continue;
		case MPT__RULE_KILL:
			log_fault(cname, point, count, in->action[i]);
			die_by((int)r->value);
			continue;
		case MPT__RULE_SIGNAL:
			log_fault(cname, point, count, in->action[i]);
			raise((int)r->value);
			continue;
		}
	}
	if (chosen >= 0) /* logged once: the rule whose effect applies */
		log_fault(cname, point, count, in->action[chosen]);
	return result;
}

/* A call no rule names returns at once, uncounted: the rules are fixed
 * before the test starts, so its count could never be asked about. Under
 * --sched=perturb every call goes on to apply(), which draws the delay. */
int mpt__inject_call(enum mpt__call call, int64_t *value)
{
	if (!mpt__inject_wants(call))
		return 0;
	int e = errno;
	uint64_t count = __atomic_add_fetch(&counts[call], 1, __ATOMIC_RELAXED);
	int r = apply((int)call, NULL, count, value);
	errno = e;
	return r;
}

void mpt__inject_pipe(int wfd)
{
	int32_t cap = mpt__current->inject.pipe_capacity;
	if (cap > 0) {
		/* Below a page the kernel rounds up to one page: a pipe with a
		 * single buffer slot, which the write wrappers then hold to
		 * the capacity. */
		int e = errno;
		syscall(SYS_fcntl, wfd, F_SETPIPE_SZ, cap);
		errno = e;
	}
}

/* ---- --pipe-capacity below a page ------------------------------------------
 *
 * F_SETPIPE_SZ cannot go below a page, so a smaller capacity is emulated in
 * the write() and writev() wrappers. The pipe holds one page (one buffer
 * slot); before each piece of a write the shim asks how many bytes the
 * pipe holds (FIONREAD works on the write end) and writes at most the
 * capacity minus that. When the emulated pipe is full, a non-blocking
 * writer gets EAGAIN (or the short count of what went), and a blocking one
 * waits in the real ppoll(POLLOUT) with no timeout: on a one-slot pipe that
 * stays not ready while any byte is in the pipe, so the writer sleeps in
 * the kernel, using no CPU, until the reader has emptied it. The watchdog
 * sees a blocked ppoll(); the record in the process's region entry
 * (emu_tid, emu_fd) lets it report the wait as the write it is.
 *
 * Which descriptors: a pipe or FIFO (S_ISFIFO) open for writing whose real
 * capacity is one page. Pipes made through pipe() and pipe2() in the test
 * were shrunk to that when they were made; a named FIFO is shrunk on its
 * first write here. A larger anonymous pipe was not made in the test (the
 * runner's output pipe, say) and is left alone. A write to an O_DIRECT
 * (packet) pipe that would have to be cut in pieces goes through whole.
 *
 * What differs from a pipe of that size: the writer waits until the pipe is
 * empty, not until one byte was read (the kernel wakes poll only when the
 * page slot is freed), writes bigger than the capacity are cut in pieces
 * that other writers may interleave with (a capacity below PIPE_BUF cannot
 * keep PIPE_BUF writes atomic), and a signal handler interrupting the wait
 * ends the write with EINTR (when nothing was written yet; else the short
 * count) unless every caught signal has SA_RESTART, in which case the wait
 * goes on. */

static long page_size(void)
{
	static long page;
	if (!page) {
		long p = sysconf(_SC_PAGESIZE);
		page = p > 0 ? p : 4096;
	}
	return page;
}

/* The device of pipefs, which anonymous pipes live on: learnt from a pipe
 * made (and closed) with raw system calls. 0 and -1 when unknown. */
static int pipefs_dev(dev_t *out)
{
	static dev_t dev;
	static int known;
	if (!known) {
		int p[2];
		struct stat st;
		if (syscall(SYS_pipe2, p, O_CLOEXEC) < 0)
			return -1;
		int ok = fstat(p[0], &st) == 0;
		syscall(SYS_close, p[0]);
		syscall(SYS_close, p[1]);
		if (!ok)
			return -1;
		dev = st.st_dev;
		known = 1;
	}
	*out = dev;
	return 0;
}

/* Whether writes to fd are held to the emulated capacity cap. Costs one
 * system call on the usual path: F_GETPIPE_SZ fails on anything but a pipe
 * or FIFO, and is the page size on a pipe shrunk for the emulation. */
static int emulated_pipe(int fd, int cap)
{
	long size = syscall(SYS_fcntl, fd, F_GETPIPE_SZ);
	if (size > page_size()) {
		struct stat st;
		dev_t dev;
		if (fstat(fd, &st) < 0 || pipefs_dev(&dev) < 0 || st.st_dev == dev)
			return 0; /* an anonymous pipe not made in the test */
		/* A named FIFO: fails with EBUSY while it holds more. */
		size = syscall(SYS_fcntl, fd, F_SETPIPE_SZ, cap);
	}
	return size == page_size();
}

/* Whether every caught signal restarts interrupted calls (SA_RESTART).
 * Which signal ended the wait is not known here; a real pipe write is
 * restarted only when that one's handler has SA_RESTART. Handlers of the
 * signals a fault raises (crash handlers, the sanitizers') do not count:
 * those signals come from the faulting thread itself, not into a wait. */
static int handlers_restart(void)
{
	for (int s = 1; s < NSIG; s++) {
		struct sigaction sa;
		if (s == SIGKILL || s == SIGSTOP || s == SIGSEGV || s == SIGBUS ||
		    s == SIGFPE || s == SIGILL || s == SIGTRAP || s == SIGSYS ||
		    sigaction(s, NULL, &sa) < 0)
			continue;
		if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN &&
		    !(sa.sa_flags & SA_RESTART))
			return 0;
	}
	return 1;
}

/* Waits in ppoll(POLLOUT) with no timeout until the one-slot pipe is
 * empty (or its readers are gone), with the region's record of the held
 * back write around it. Returns ppoll's result; *revents its events. */
static long wait_drained(int fd, int call, size_t bytes, short *revents)
{
	struct mpt__proc *self = mpt__procid_self();
	int tid = (int)syscall(SYS_gettid), none = 0;
	int mine = 0;
	if (self && atomic_load_explicit(&self->emu_tid, memory_order_relaxed) == 0) {
		self->emu_fd = fd;
		self->emu_call = call;
		self->emu_bytes = bytes;
		/* Another thread may have claimed it meanwhile: then its
		 * fields may be ours, and the watchdog, matching fd and
		 * thread, sees a plain ppoll() for one of the two. */
		mine = atomic_compare_exchange_strong_explicit(
			&self->emu_tid, &none, tid, memory_order_release, memory_order_relaxed);
	}
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	long r = syscall(SYS_ppoll, &p, 1UL, NULL, NULL, (size_t)(_NSIG / 8));
	int e = errno;
	if (mine)
		atomic_store_explicit(&self->emu_tid, 0, memory_order_release);
	*revents = p.revents;
	errno = e;
	return r;
}

/* At most 16 pieces of iov from byte `from` on, holding at most max bytes,
 * into out; returns how many. */
static int slice(const struct iovec *iov, int iovcnt, size_t from, size_t max,
		 struct iovec *out)
{
	int n = 0;
	for (int i = 0; i < iovcnt && n < 16 && max > 0; i++) {
		size_t len = iov[i].iov_len;
		if (from >= len) {
			from -= len;
			continue;
		}
		size_t take = len - from < max ? len - from : max;
		out[n].iov_base = (char *)iov[i].iov_base + from;
		out[n++].iov_len = take;
		max -= take;
		from = 0;
	}
	return n;
}

int mpt__pipe_write(int fd, const struct iovec *iov, int iovcnt, int call,
		    ssize_t *result)
{
	int cap = mpt__current->inject.pipe_capacity;
	int e = errno;
	long flags = -1; /* read when a write is cut or waits */
	if (iovcnt <= 0 || iovcnt > IOV_MAX)
		return 0; /* the real call says what is wrong */
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SSIZE_MAX - total)
			return 0;
		total += iov[i].iov_len;
	}
	if (total == 0 || !emulated_pipe(fd, cap)) {
		errno = e;
		return 0;
	}
	size_t done = 0;
	int unlimited = 0; /* the readers are gone: let the kernel say so */
	for (;;) {
		int fill = 0;
		if (syscall(SYS_ioctl, fd, FIONREAD, &fill) < 0)
			fill = 0;
		size_t room = unlimited ? total - done : fill < cap ? (size_t)(cap - fill) : 0;
		if (room < total - done && flags < 0) {
			flags = syscall(SYS_fcntl, fd, F_GETFL);
			/* A packet pipe's writes must not be cut in pieces. */
			if (flags < 0 || ((flags & O_DIRECT) && done == 0)) {
				errno = e;
				return 0;
			}
		}
		if (room > 0) {
			struct iovec piece[16];
			int n = slice(iov, iovcnt, done, room, piece);
			long w = syscall(SYS_writev, fd, piece, (long)n);
			if (w < 0) {
				if (done > 0 && errno != EBADF && errno != EFAULT)
					break; /* what went, like a real pipe */
				*result = -1;
				return 1;
			}
			done += (size_t)w;
			if (done == total)
				break;
			continue;
		}
		if (flags & O_NONBLOCK) {
			if (done > 0)
				break;
			*result = -1;
			errno = EAGAIN;
			return 1;
		}
		short revents = 0;
		long r = wait_drained(fd, call, total, &revents);
		if (r < 0) {
			if (done > 0)
				break;
			if (errno == EINTR && handlers_restart())
				continue;
			*result = -1;
			return 1;
		}
		if (revents & (POLLERR | POLLHUP | POLLNVAL) ||
		    syscall(SYS_fcntl, fd, F_GETPIPE_SZ) != page_size())
			unlimited = 1; /* or poll would not wait any more */
	}
	*result = (ssize_t)done;
	errno = e;
	return 1;
}

static uint64_t point_count(const char *name)
{
	for (int i = 0; i < POINTS; i++) {
		int u = atomic_load(&points[i].used);
		if (u == 0) {
			int expect = 0;
			if (atomic_compare_exchange_strong(&points[i].used, &expect, 1)) {
				copy(points[i].name, sizeof points[i].name, name);
				atomic_store(&points[i].used, 2);
				return __atomic_add_fetch(&points[i].count, 1, __ATOMIC_RELAXED);
			}
			u = expect;
		}
		while (u == 1) /* being filled by another thread */
			u = atomic_load(&points[i].used);
		if (!strncmp(points[i].name, name, sizeof points[i].name - 1))
			return __atomic_add_fetch(&points[i].count, 1, __ATOMIC_RELAXED);
	}
	return 0; /* too many names: counted as 0, which no nth matches */
}

/* MPT_POINT("name") in code under test (include/mptest-point.h). */
MPT__EXPORT void mpt_point_hit(const char *name);
void mpt_point_hit(const char *name)
{
	if (!mpt__inject_on() || !name)
		return;
	int e = errno;
	int64_t v;
	uint64_t count = point_count(name);
	if (count)
		apply(-1, name, count, &v); /* errors and short do not apply */
	errno = e;
}
