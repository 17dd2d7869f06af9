/* Descriptor tracking (fd-leak; HAZARDS rows 5 and 8).
 *
 * Two checks live here:
 *   - the test leader p0: descriptors open when it exits that were not open
 *     when the shim started in it. What the runner (and CI before it)
 *     handed down is the baseline, never a leak.
 *   - any process: a descriptor without close-on-exec carried into an exec'd
 *     program that never touches it, like a pipe's write end kept by
 *     /bin/sleep, so the reader never sees end-of-file. Before every exec the
 *     shim records such descriptors in the region's carried[] table; the new
 *     program (this file again, in the preload library) claims its entries,
 *     marks the ones it uses, and reports the rest when it exits. The runner
 *     reports what programs that were killed or are still running left
 *     unused (framework/inspect/fdend.c).
 *
 * Each process keeps a table indexed by descriptor: who made it, where and
 * how. It is plain static memory, so a fork() child inherits it as it
 * inherits the descriptors, and nothing is allocated on the way. Internal
 * work uses raw system calls, never the wrappers below, so it is safe
 * between fork and exec and cannot recurse. */
#define _GNU_SOURCE
/* Fortified headers define some of these names inline. */
#undef _FORTIFY_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "../core/kinds.h"
#include "../core/procid.h"
#include "../inspect/symbolize.h"
#include "inject.h"
#include "limits.h"
#include "shim.h"

/* Wrappers count their calls (mpt__calls). */
#define REAL MPT__REAL_COUNTED
#define REAL_UNCOUNTED MPT__REAL

/* ---- the per-process table ------------------------------------------------ */

/* Descriptors at or above this are not tracked: no origin, never reported. */
#define FD_MAX 4096

enum {
	FD_BASELINE = 1, /* open when the shim started here: not the test's */
	FD_HARNESS = 2,  /* made by the harness's own code */
	FD_CARRIED = 4,  /* carried into this program across exec */
	FD_UNUSED = 8,   /* carried, and not used yet */
};

struct fd_origin {
	uintptr_t site;    /* return address of the call that made it */
	pid_t pid;         /* the process that made it (a fork child inherits) */
	uint16_t carried;  /* carried in: 1 + its carried[] index */
	uint8_t how;       /* HOW_* */
	uint8_t flags;     /* FD_* */
};

enum {
	HOW_NONE, HOW_PIPE, HOW_PIPE2, HOW_SOCKETPAIR, HOW_SOCKET, HOW_ACCEPT,
	HOW_ACCEPT4, HOW_OPEN, HOW_OPENAT, HOW_CREAT, HOW_DUP, HOW_DUP2, HOW_DUP3,
	HOW_FCNTL, HOW_FOPEN,
};
static const char *const how_name[] = {
	"", "pipe", "pipe2", "socketpair", "socket", "accept", "accept4", "open",
	"openat", "creat", "dup", "dup2", "dup3", "fcntl", "fopen",
};

/* Every test leader takes the baseline (mpt__fd_start), so what init()
 * writes lives in the hot section (a page the leader writes anyway), and
 * the table is written only where it must change: each page of it that a
 * leader wrote would cost a copy-on-write fault per test. */
static struct fd_origin table[FD_MAX];
static int inited MPT__HOT;       /* the baseline is taken in this process image */
static pid_t self_pid MPT__HOT;   /* cached: getpid() is a system call */
static int region_fd MPT__HOT = -1;
static uintptr_t own_lo MPT__HOT, own_hi MPT__HOT; /* the harness's own code */

/* What carried[] has no field for yet: where the descriptor was made. It is
 * stored after the target text, in the last bytes of target[], so the
 * target stays an ordinary string. framework/inspect/fdend.c reads the same
 * layout. */
struct carried_origin {
	uint64_t site;
	int32_t pid;        /* the process that made it; 0 unknown */
	uint16_t spawn_no;  /* posix_spawn entries: the child's number */
	uint8_t accmode;    /* O_ACCMODE bits + 1; 0 unknown */
	uint8_t pad;
	char how[12];       /* "pipe", "open", ... */
};
#define TARGET_SIZE sizeof(((struct mpt__carried *)0)->target)
#define ORIGIN_AT (TARGET_SIZE - sizeof(struct carried_origin))
_Static_assert(ORIGIN_AT >= 48, "carried target too small for its origin");

/* An exec'd program with carried descriptors marks the ones it touches.
 * Everywhere else this is one predictable branch. */
static int fd_watch MPT__HOT;
static int unused_carried MPT__HOT; /* claimed here and not used yet */

/* The baseline of the low descriptors, one bit each, beside the table's
 * FD_BASELINE (used above BASE_BITS): marking them in the table would
 * write a page of it in every test leader. A descriptor made through a
 * watched call, or closed through one, leaves the baseline. */
#define BASE_BITS 1024
static uint64_t base_bits[BASE_BITS / 64] MPT__HOT;

static inline int base_bit(int fd)
{
	return fd < BASE_BITS && (base_bits[fd / 64] >> (fd % 64)) & 1;
}

static inline void base_clear(int fd)
{
	if (base_bit(fd))
		base_bits[fd / 64] &= ~((uint64_t)1 << (fd % 64));
}

static int is_baseline(int fd)
{
	return base_bit(fd) || (table[fd].flags & FD_BASELINE);
}

/* A test leader forked by the runner takes its baseline without /proc:
 * the first look at /proc/self in a new process costs more than the rest
 * of a trivial test's checks together (a dentry for the process and one
 * per descriptor). The runner lists its descriptors before each fork
 * (mpt__fd_runner_snapshot: its own /proc entries are warm); the leader
 * keeps those still open (the runner's own were closed in leader_main),
 * besides 0-2 and the region.
 * At its exit the leader lists them again only when something may have
 * changed: a descriptor made or closed through a wrapper, or the lowest
 * free number (new descriptors take the lowest) no longer the one at the
 * start, or one of the next few numbers above it open. */
#define QUICK_WINDOW 8
static int runner_snap MPT__HOT; /* base_bits hold the runner's descriptors */
static int snap_high MPT__HOT;   /* ... and the table, this many above BASE_BITS */
static int quick MPT__HOT;       /* this leader started from the snapshot */
static int start_free MPT__HOT;  /* the lowest free number >= 3 at the start */
static unsigned fd_events MPT__HOT; /* made or forgotten through a wrapper */
static void note_use(int fd);
#define USE(fd)                                         \
	do {                                            \
		if (__builtin_expect(fd_watch, 0))      \
			note_use(fd);                   \
	} while (0)

static void init(void);
static inline void ensure_init(void)
{
	if (__builtin_expect(!inited, 0))
		init();
}

static void made(int fd, int how, uintptr_t site)
{
	if ((unsigned)fd >= FD_MAX)
		return;
	struct fd_origin *o = &table[fd];
	if (o->flags & FD_UNUSED)
		note_use(fd); /* closed behind our back and reused: it was used */
	base_clear(fd);
	fd_events++;
	o->site = site;
	o->pid = self_pid;
	o->carried = 0;
	o->how = (uint8_t)how;
	o->flags = site - own_lo < own_hi - own_lo ? FD_HARNESS : 0;
}

static void forget(int fd)
{
	if ((unsigned)fd >= FD_MAX)
		return;
	USE(fd); /* closing a carried descriptor is using it */
	base_clear(fd);
	if (quick)
		fd_events++;
	memset(&table[fd], 0, sizeof table[fd]);
}

#define SITE() ((uintptr_t)__builtin_return_address(0))

/* ---- raw helpers: no allocation, no wrappers ------------------------------ */

static int sys_getfd(int fd)
{
	return (int)syscall(SYS_fcntl, fd, F_GETFD);
}

static void put_int(char *p, int v)
{
	char d[12];
	int n = 0;
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
	do
		d[n++] = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*p++ = '-';
	while (n)
		*p++ = d[--n];
	*p = 0;
}

/* readlink of /proc/self/fd/N: "pipe:[123]", a path; empty when closed. */
static void fd_target(int fd, char *buf, size_t size)
{
	char path[64] = "/proc/self/fd/";
	put_int(path + strlen(path), fd);
	ssize_t n = readlink(path, buf, size - 1);
	buf[n > 0 ? n : 0] = 0;
}

/* The target as carried[] holds it: long paths keep their tail. */
static void short_target(char *dst, const char *t)
{
	size_t len = strlen(t), cap = ORIGIN_AT - 1;
	if (len <= cap) {
		memcpy(dst, t, len + 1);
		return;
	}
	memcpy(dst, "...", 3);
	memcpy(dst + 3, t + len - (cap - 3), cap - 3 + 1);
}

/* Calls fn for each descriptor open in this process. */
static void each_open_fd(void (*fn)(int fd, void *arg), void *arg)
{
	int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	/* Small: one stack page less to touch, and a test has few. */
	char buf[768] __attribute__((aligned(8)));
	long n;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			int fd = atoi(d->d_name);
			if (fd != dir)
				fn(fd, arg);
		}
	}
	syscall(SYS_close, dir);
}

/* ---- activation ------------------------------------------------------------ */

/* The harness's own text: [ELF header of this module, end of its text). A
 * descriptor made from there is the harness's, never the test's. */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _etext[] __attribute__((visibility("hidden")));

static void after_fork_child(void)
{
	self_pid = (pid_t)syscall(SYS_getpid);
}

static void take_baseline(int fd, void *arg)
{
	(void)arg;
	/* 0-2 and the region's descriptor are never the test's (see
	 * find_leak and record_carried). */
	if (fd <= 2 || fd == region_fd || fd >= FD_MAX)
		return;
	/* The table is still all zero here: nothing writes it before the
	 * baseline is taken in this image (a fork inherits both). */
	if (fd < BASE_BITS)
		base_bits[fd / 64] |= (uint64_t)1 << (fd % 64);
	else
		table[fd].flags = FD_BASELINE;
}

static void claim_carried(void);

/* The lowest free descriptor number >= 3, or -1 (raw calls, no trace). */
static int lowest_free(void)
{
	int any = region_fd >= 0 ? region_fd : 2;
	int fd = (int)syscall(SYS_fcntl, any, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0)
		syscall(SYS_close, fd);
	return fd;
}

/* The leader's start from the runner's snapshot: the snapshot's
 * descriptors that are still open, by F_GETFD (a few calls). */
static void baseline_from_snapshot(void)
{
	for (int w = 0; w < BASE_BITS / 64; w++)
		for (uint64_t b = base_bits[w]; b; b &= b - 1) {
			int fd = w * 64 + __builtin_ctzll(b);
			if (sys_getfd(fd) < 0)
				base_clear(fd);
		}
	for (int fd = BASE_BITS; snap_high && fd < FD_MAX; fd++)
		if ((table[fd].flags & FD_BASELINE) && sys_getfd(fd) < 0)
			table[fd].flags = 0;
	start_free = lowest_free();
	fd_events = 0;
	quick = start_free >= 0;
}

/* Once per process image, the first time the shim is on here: whatever is
 * open now came from outside (the runner, CI, or a program that exec'd us:
 * those come back as carried entries below). */
static void init(void)
{
	int e = errno;
	inited = 1;
	self_pid = (pid_t)syscall(SYS_getpid);
	own_lo = (uintptr_t)__ehdr_start;
	own_hi = (uintptr_t)_etext;
	const char *v = getenv("MPT_REGION_FD");
	region_fd = v && *v ? atoi(v) : -1;
	if (runner_snap)
		baseline_from_snapshot();
	else
		each_open_fd(take_baseline, NULL);
	fd_watch = 0;
	claim_carried();
	errno = e;
}

#ifndef MPT_PRELOAD
/* In the runner (libmptest, shim off), before its first fork: what is open
 * now is the program's and CI's, or the runner's own (which each leader
 * closes). One listing per run instead of one per test. */
static void snap_one(int fd, void *arg)
{
	(void)arg;
	if (fd <= 2 || fd >= FD_MAX)
		return;
	if (fd < BASE_BITS) {
		base_bits[fd / 64] |= (uint64_t)1 << (fd % 64);
	} else {
		table[fd].flags = FD_BASELINE;
		snap_high++;
	}
}

/* Under Valgrind each forked child opens its own log (--log-file=...%p)
 * after the fork, where no snapshot sees it: leaders list /proc there. */
static int under_valgrind(void)
{
	static int known; /* 1 no, 2 yes */
	if (!known) {
		const char *p = getenv("LD_PRELOAD");
		known = p && strstr(p, "vgpreload") ? 2 : 1;
	}
	return known == 2;
}

void mpt__fd_runner_snapshot(void);
void mpt__fd_runner_snapshot(void)
{
	if (inited || under_valgrind())
		return; /* the shim was on in this image (not a runner), or a tool's */
	int e = errno;
	memset(base_bits, 0, sizeof base_bits);
	for (int fd = BASE_BITS; snap_high && fd < FD_MAX; fd++)
		table[fd].flags = 0;
	snap_high = 0;
	each_open_fd(snap_one, NULL);
	runner_snap = 1;
	errno = e;
}
#endif

/* Whether the leader's descriptors may differ from its baseline (see
 * runner_snap): 1 unless it started from the snapshot and nothing says
 * so. */
static int may_have_changed(void)
{
	if (!quick || fd_events || lowest_free() != start_free)
		return 1;
	for (int fd = start_free + 1; fd <= start_free + QUICK_WINDOW; fd++)
		if (fd != region_fd && !(fd < BASE_BITS ? base_bit(fd) : is_baseline(fd)) &&
		    sys_getfd(fd) >= 0)
			return 1;
	return 0;
}

/* When the shim becomes active in a process (a test leader about to run
 * the body, a program loaded into the tree), from proc.c: the baseline is
 * what is open now. Taken later, at the first watched call, it would
 * count as the harness's whatever the test had made by then through calls
 * the shim does not watch (eventfd, memfd_create, epoll_create, opendir,
 * mkstemp), and never report their leaks. */
void mpt__fd_start(void);
void mpt__fd_start(void)
{
	if (mpt__current)
		ensure_init();
}

/* At load time, while the process is still single-threaded: registering a
 * fork handler later, in a child forked from threads, could block.
 *
 * In the preload library an exec'd program also claims what it was handed
 * before main() runs, so even a program killed before it calls anything is
 * accounted for. This runs after preload_init (shim.c comes first in the
 * link, so its constructor runs first); were it to run earlier, the first
 * wrapper call would claim instead. */
__attribute__((constructor)) static void fd_load(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
#ifdef MPT_PRELOAD
	if (mpt__shim_on())
		ensure_init();
	else if (getenv("MPT_REGION_FD"))
		fd_watch = 1; /* not active yet: look again at the first use */
#endif
}

/* ---- carried descriptors: recording before exec ---------------------------- */

static struct mpt__carried *carried_at(unsigned i)
{
	return &mpt__current->carried[i];
}

static unsigned carried_count(void)
{
	unsigned n = atomic_load(&mpt__current->ncarried);
	return n > MPT__MAX_CARRIED ? MPT__MAX_CARRIED : n;
}

static void get_origin(const struct mpt__carried *c, struct carried_origin *o)
{
	memcpy(o, c->target + ORIGIN_AT, sizeof *o);
	o->how[sizeof o->how - 1] = 0;
}

/* Marks an unused entry as used (1) or reported (2); 1 if this call did. */
static int settle(struct mpt__carried *c, unsigned how)
{
	unsigned zero = 0;
	return atomic_compare_exchange_strong(&c->used, &zero, how);
}

struct exec_ctx {
	pid_t pid;          /* who the entries are for: -pid for posix_spawn */
	unsigned spawn_no;
};

static void record_carried(int fd, void *arg)
{
	const struct exec_ctx *x = arg;
	if (fd <= 2 || fd == region_fd || fd >= FD_MAX)
		return;
	struct fd_origin *t = &table[fd];
	int fl = sys_getfd(fd);
	if (fl < 0 || (fl & FD_CLOEXEC))
		return;
	/* Only descriptors made during the test through a call we watch, or
	 * carried in: what appeared unseen (Valgrind's log of a forked child,
	 * an eventfd) has no origin to explain, so it is left alone. */
	if ((t->flags & (FD_BASELINE | FD_HARNESS)) || (!t->how && !t->carried))
		return;
	char target[256];
	fd_target(fd, target, sizeof target);
	if (!target[0] || !strncmp(target, "/memfd:mptest-region", 20))
		return;
	struct carried_origin o;
	memset(&o, 0, sizeof o);
	if (t->carried) {
		/* Handed on to the next program (a shell passing it to a
		 * command): that is this program's use of it; the origin
		 * travels with it. */
		struct mpt__carried *prev = carried_at(t->carried - 1u);
		get_origin(prev, &o);
		if (t->flags & FD_UNUSED)
			note_use(fd);
	} else if (t->how) {
		o.site = t->site;
		o.pid = t->pid;
		strcpy(o.how, how_name[t->how]);
	}
	int acc = (int)syscall(SYS_fcntl, fd, F_GETFL);
	o.accmode = acc < 0 ? 0 : (uint8_t)((acc & O_ACCMODE) + 1);
	o.spawn_no = (uint16_t)x->spawn_no;
	unsigned i = atomic_fetch_add(&mpt__current->ncarried, 1);
	if (i >= MPT__MAX_CARRIED)
		return;
	struct mpt__carried *c = carried_at(i);
	c->pid = x->pid;
	c->fd = fd;
	atomic_store(&c->used, 0);
	memset(c->target, 0, sizeof c->target);
	short_target(c->target, target);
	memcpy(c->target + ORIGIN_AT, &o, sizeof o);
	c->prog[0] = 0; /* the program fills it in when it starts */
	atomic_store_explicit(&c->ready, 1, memory_order_release);
}

void mpt__fd_before_exec(void)
{
	if (!mpt__current)
		return;
	ensure_init();
	int e = errno;
	struct exec_ctx x = {.pid = (pid_t)syscall(SYS_getpid)};
	struct mpt__proc *me = mpt__procid_self();
	/* posix_spawn: the child has no pid yet; it claims the entries made
	 * for its number (procid.c sets `spawning` just before). */
	x.spawn_no = me ? atomic_load(&me->spawning) : 0;
	if (x.spawn_no) {
		x.pid = -x.pid;
	} else {
		/* Entries for an earlier exec of ours that failed: no program
		 * took them, and this image is still here. */
		for (unsigned i = 0, n = carried_count(); i < n; i++) {
			struct mpt__carried *c = carried_at(i);
			if (atomic_load_explicit(&c->ready, memory_order_acquire) &&
			    c->pid == x.pid && !c->prog[0])
				settle(c, 1);
		}
	}
	each_open_fd(record_carried, &x);
	errno = e;
}

/* ---- carried descriptors: in the program they were carried into ----------- */

/* The number this process got from its parent (the last part of "p0.1.3"). */
static unsigned own_number(void)
{
	const char *id = mpt__procid(), *dot = strrchr(id, '.');
	return dot ? (unsigned)atoi(dot + 1) : 0;
}

/* Whether fd is the same open file as stdin, stdout or stderr: the
 * program uses it through those (a pipeline built with dup2 that kept the
 * original). kcmp says so exactly; without it, the same target will do. */
static int is_std(int fd, const char *target)
{
	pid_t me = self_pid;
	for (int s = 0; s < 3; s++) {
		long k = syscall(SYS_kcmp, me, me, KCMP_FILE, s, fd);
		if (k == 0)
			return 1;
		if (k < 0) {
			char t[256];
			fd_target(s, t, sizeof t);
			if (!strcmp(t, target))
				return 1;
		}
	}
	return 0;
}

static void claim_carried(void)
{
	if (!mpt__current)
		return;
	pid_t me = self_pid, parent = getppid();
	unsigned no = own_number(), claimed = 0;
	char now[256], want[ORIGIN_AT];
	for (unsigned i = 0, n = carried_count(); i < n; i++) {
		struct mpt__carried *c = carried_at(i);
		if (!atomic_load_explicit(&c->ready, memory_order_acquire) || c->prog[0] ||
		    atomic_load(&c->used))
			continue;
		struct carried_origin o;
		get_origin(c, &o);
		if (c->pid == -parent && no && o.spawn_no == no)
			c->pid = me;
		if (c->pid != me || (unsigned)c->fd >= FD_MAX)
			continue;
		const char *name = program_invocation_short_name;
		snprintf(c->prog, sizeof c->prog, "%s", name ? name : "?");
		/* posix_spawn file actions may have closed or replaced it; a
		 * descriptor also open as stdin, stdout or stderr (a pipeline
		 * built with dup2) is used by definition. */
		fd_target(c->fd, now, sizeof now);
		short_target(want, now);
		if (!now[0] || strcmp(want, c->target) || is_std(c->fd, now)) {
			settle(c, 1);
			continue;
		}
		struct fd_origin *t = &table[c->fd];
		memset(t, 0, sizeof *t);
		base_clear(c->fd);
		t->flags = FD_CARRIED | FD_UNUSED;
		t->carried = (uint16_t)(i + 1);
		claimed++;
	}
	unused_carried = (int)claimed;
	if (claimed)
		fd_watch = 1;
}

static void note_use(int fd)
{
	if (!inited) {
		if (!mpt__shim_on())
			return;
		init();
	}
	if ((unsigned)fd >= FD_MAX || !(table[fd].flags & FD_UNUSED) || !mpt__current)
		return;
	settle(carried_at(table[fd].carried - 1u), 1);
	table[fd].flags &= (uint8_t)~FD_UNUSED;
	/* Once every carried descriptor is used, the wrappers go back to
	 * their one branch. */
	if (__atomic_sub_fetch(&unused_carried, 1, __ATOMIC_RELAXED) <= 0)
		fd_watch = 0;
}

/* ---- findings ---------------------------------------------------------------- */

static const char *prog_name(void)
{
	struct mpt__proc *p = mpt__procid_self();
	if (p && p->prog[0])
		return p->prog;
	return program_invocation_short_name ? program_invocation_short_name : "?";
}

/* One line of advice for a descriptor carried into a program that ignores it. */
static const char *carried_advice(const char *target, int accmode)
{
	if (!strncmp(target, "pipe:", 5) && accmode == O_WRONLY + 1)
		return "A pipe's write end held by a program that never writes to it keeps "
		       "the reader from ever seeing end-of-file. Create it close-on-exec "
		       "(pipe2(fds, O_CLOEXEC)) or close it in the child before exec.";
	if (!strncmp(target, "pipe:", 5))
		return "A pipe's read end held by a program that never reads keeps writers "
		       "from getting EPIPE. Create it close-on-exec (pipe2(fds, O_CLOEXEC)) "
		       "or close it in the child before exec.";
	return "Pass resources to a program explicitly: create descriptors with "
	       "O_CLOEXEC (SOCK_CLOEXEC, pipe2(fds, O_CLOEXEC)) or close them in the "
	       "child before exec.";
}

static int alive(pid_t pid)
{
	char state[64];
	char path[64] = "/proc/";
	put_int(path + 6, pid);
	strcat(path, "/stat");
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	long n = syscall(SYS_read, fd, state, sizeof state - 1);
	syscall(SYS_close, fd);
	state[n > 0 ? n : 0] = 0;
	const char *p = strrchr(state, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Carried entries this program claimed and never used. */
static void report_unused_carried(void)
{
	pid_t me = (pid_t)syscall(SYS_getpid);
	int shown = 0;
	for (unsigned i = 0, n = carried_count(); i < n; i++) {
		struct mpt__carried *c = carried_at(i);
		if (!atomic_load_explicit(&c->ready, memory_order_acquire) || c->pid != me ||
		    !c->prog[0] || atomic_load(&c->used))
			continue;
		char now[256], want[ORIGIN_AT];
		fd_target(c->fd, now, sizeof now);
		short_target(want, now);
		if (!now[0] || strcmp(want, c->target)) {
			settle(c, 1); /* closed where we could not see it */
			continue;
		}
		if (!settle(c, 2))
			continue;
		if (shown++ >= 6)
			continue; /* the region holds few records: the first few say it */
		struct carried_origin o;
		get_origin(c, &o);
		char msg[512], detail[1024], where[400] = "", site[200] = "";
		const char *end = !strncmp(c->target, "pipe:", 5)
			? (o.accmode == O_WRONLY + 1 ? ", write end" : o.accmode == O_RDONLY + 1 ? ", read end" : "")
			: "";
		snprintf(msg, sizeof msg,
			 "%s (pid %d, %s) got fd %d (%s%s) across exec without close-on-exec "
			 "and never used it", mpt__procid(), (int)me, c->prog, c->fd, c->target, end);
		/* The site is an address in the process that made it, readable
		 * while that process lives with the same program. */
		if (o.site && o.pid > 0 && o.pid != me && alive(o.pid))
			mpt__symbolize(o.pid, (uintptr_t)o.site, site, sizeof site);
		if (o.how[0]) {
			const char *who = o.pid > 0 ? mpt__proc_id(mpt__current, o.pid) : NULL;
			snprintf(where, sizeof where, "Made by %s()%s%s in %s (pid %d). ", o.how,
				 site[0] ? " at " : "", site, who ? who : "another process",
				 (int)o.pid);
		}
		snprintf(detail, sizeof detail, "%s%s", where, carried_advice(c->target, o.accmode));
		mpt__shim_finding(MPT__K_FD_LEAK, msg, detail);
	}
	if (shown > 6) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s (pid %d, %s) got %d more descriptors across exec "
			 "that it never used", mpt__procid(), (int)me, prog_name(), shown - 6);
		mpt__shim_finding(MPT__K_FD_LEAK, msg, NULL);
	}
}

struct leak_list {
	int n;
	int fd[64];
};

static void find_leak(int fd, void *arg)
{
	struct leak_list *l = arg;
	if (fd <= 2 || fd == region_fd || fd >= FD_MAX ||
	    is_baseline(fd) || (table[fd].flags & (FD_HARNESS | FD_CARRIED)))
		return;
	if (l->n < (int)(sizeof l->fd / sizeof l->fd[0]))
		l->fd[l->n] = fd;
	l->n++;
}

/* The leader: descriptors opened during the test, still open as it ends. */
static void report_open_at_exit(void)
{
	if (!may_have_changed())
		return;
	struct leak_list l = {0};
	each_open_fd(find_leak, &l);
	/* Symbolizing may open files: only now that the list is taken. */
	int shown = 0;
	char more[600] = "";
	for (int i = 0; i < l.n && i < (int)(sizeof l.fd / sizeof l.fd[0]); i++) {
		int fd = l.fd[i];
		char target[256];
		fd_target(fd, target, sizeof target);
		if (!strncmp(target, "/memfd:mptest-region", 20))
			continue;
		if (shown++ >= 6) {
			size_t len = strlen(more);
			if (len < sizeof more - 80)
				snprintf(more + len, sizeof more - len, "%sfd %d (%s)",
					 len ? ", " : "", fd, target);
			continue;
		}
		const struct fd_origin *t = &table[fd];
		char msg[512], detail[1024], site[200] = "";
		snprintf(msg, sizeof msg, "fd %d (%s) opened during the test was still open when "
			 "%s (pid %d, %s) exited", fd, target, mpt__procid(),
			 (int)self_pid, prog_name());
		if (t->how && t->site)
			mpt__site_text(t->site, site, sizeof site);
		if (t->how)
			snprintf(detail, sizeof detail, "Made by %s()%s%s. ", how_name[t->how],
				 site[0] ? " at " : "", site);
		else
			snprintf(detail, sizeof detail, "Made by a call mptest does not watch; "
				 "it was not open when the test started. ");
		strncat(detail, "Close it before the test ends, or open it with O_CLOEXEC "
			"and close it in cleanup.", sizeof detail - strlen(detail) - 1);
		mpt__shim_finding(MPT__K_FD_LEAK, msg, detail);
	}
	if (shown > 6) {
		char msg[768];
		snprintf(msg, sizeof msg, "%d more descriptors opened during the test were still "
			 "open when %s (pid %d, %s) exited: %s", shown - 6, mpt__procid(),
			 (int)self_pid, prog_name(), more);
		mpt__shim_finding(MPT__K_FD_LEAK, msg, "Close them before the test ends.");
	}
}

int mpt__fd_opened_since_start(char *buf, size_t size)
{
	if (size)
		buf[0] = 0;
	if (!mpt__shim_on())
		return 0;
	ensure_init();
	int e = errno;
	struct leak_list l = {0};
	each_open_fd(find_leak, &l);
	int n = 0;
	size_t used = 0;
	for (int i = 0; i < l.n && i < (int)(sizeof l.fd / sizeof l.fd[0]); i++) {
		int fd = l.fd[i];
		char target[256], site[200] = "";
		fd_target(fd, target, sizeof target);
		if (!strncmp(target, "/memfd:mptest-region", 20))
			continue;
		const struct fd_origin *t = &table[fd];
		if (t->how && t->site)
			mpt__site_text(t->site, site, sizeof site);
		if (used + 1 < size)
			used += (size_t)snprintf(buf + used, size - used, "%sfd %d (%s)%s%s%s%s",
						 n ? "; " : "", fd, target,
						 t->how ? " made by " : "",
						 t->how ? how_name[t->how] : "", t->how ? "()" : "",
						 site[0] ? " at " : "");
		if (site[0] && used + 1 < size)
			used += (size_t)snprintf(buf + used, size - used, "%s", site);
		n++;
	}
	errno = e;
	return n;
}

void mpt__fd_at_exit(void)
{
	if (!mpt__current)
		return;
	if (!inited) {
		/* Never active here: no baseline, so nothing to compare;
		 * but an exec'd program still owes its carried entries. */
		if (!fd_watch)
			return;
		init();
	}
	int e = errno;
	report_unused_carried();
	if (getpid() == mpt__current->leader)
		report_open_at_exit();
	errno = e;
}

/* ---- wrappers: descriptors made -------------------------------------------- */

MPT__EXPORT int pipe(int fds[2])
{
	REAL(int, pipe, (int *));
	if (!mpt__shim_on())
		return real_pipe(fds);
	MPT__INJECT_FAIL(MPT__CALL_PIPE, -1);
	ensure_init();
	int r = real_pipe(fds);
	if (r == 0) {
		if (mpt__inject_on())
			mpt__inject_pipe(fds[1]);
		made(fds[0], HOW_PIPE, SITE());
		made(fds[1], HOW_PIPE, SITE());
	}
	return r;
}

MPT__EXPORT int pipe2(int fds[2], int flags)
{
	REAL(int, pipe2, (int *, int));
	if (!mpt__shim_on())
		return real_pipe2(fds, flags);
	MPT__INJECT_FAIL(MPT__CALL_PIPE2, -1);
	ensure_init();
	int r = real_pipe2(fds, flags);
	if (r == 0) {
		if (mpt__inject_on())
			mpt__inject_pipe(fds[1]);
		made(fds[0], HOW_PIPE2, SITE());
		made(fds[1], HOW_PIPE2, SITE());
	}
	return r;
}

MPT__EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	REAL(int, socketpair, (int, int, int, int *));
	if (!mpt__shim_on())
		return real_socketpair(domain, type, protocol, sv);
	ensure_init();
	int r = real_socketpair(domain, type, protocol, sv);
	if (r == 0) {
		made(sv[0], HOW_SOCKETPAIR, SITE());
		made(sv[1], HOW_SOCKETPAIR, SITE());
	}
	return r;
}

MPT__EXPORT int socket(int domain, int type, int protocol)
{
	REAL(int, socket, (int, int, int));
	if (!mpt__shim_on())
		return real_socket(domain, type, protocol);
	MPT__INJECT_FAIL(MPT__CALL_SOCKET, -1);
	ensure_init();
	int r = real_socket(domain, type, protocol);
	made(r, HOW_SOCKET, SITE());
	return r;
}

/* <sys/socket.h> declares the address arguments as transparent unions. */
MPT__EXPORT int accept(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	REAL(int, accept, (int, __SOCKADDR_ARG, socklen_t *));
	if (!mpt__shim_on())
		return real_accept(fd, addr, len);
	MPT__INJECT_FAIL(MPT__CALL_ACCEPT, -1);
	ensure_init();
	USE(fd);
	int r = real_accept(fd, addr, len);
	made(r, HOW_ACCEPT, SITE());
	return r;
}

MPT__EXPORT int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
	REAL(int, accept4, (int, __SOCKADDR_ARG, socklen_t *, int));
	if (!mpt__shim_on())
		return real_accept4(fd, addr, len, flags);
	MPT__INJECT_FAIL(MPT__CALL_ACCEPT, -1); /* counted as accept */
	ensure_init();
	USE(fd);
	int r = real_accept4(fd, addr, len, flags);
	made(r, HOW_ACCEPT4, SITE());
	return r;
}

MPT__EXPORT int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	REAL(int, connect, (int, __CONST_SOCKADDR_ARG, socklen_t));
	USE(fd);
	MPT__INJECT_FAIL(MPT__CALL_CONNECT, -1);
	return real_connect(fd, addr, len);
}

/* open and friends take a mode only when they may create a file. */
static int wants_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define OPEN_MODE(flags, mode)                          \
	do {                                            \
		if (wants_mode(flags)) {                \
			va_list ap_;                    \
			va_start(ap_, flags);           \
			mode = va_arg(ap_, mode_t);     \
			va_end(ap_);                    \
		}                                       \
	} while (0)

/* open(path) is openat(AT_FDCWD, path): one real function serves all. */
static int open_common(int dirfd, const char *path, int flags, mode_t mode, int how,
		       uintptr_t site)
{
	REAL(int, openat, (int, const char *, int, ...));
	if (!mpt__shim_on())
		return real_openat(dirfd, path, flags, mode);
	if (how == HOW_OPEN)
		MPT__INJECT_FAIL(MPT__CALL_OPEN, -1);
	ensure_init();
	if (dirfd >= 0)
		USE(dirfd); /* a directory handed down is used by opening in it */
	int r = real_openat(dirfd, path, flags, mode);
	made(r, how, site);
	return r;
}

/* On 64-bit Linux open64 is open; programs built with large-file support
 * call it by that name, and fortified ones call __open_2. */
MPT__EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	return open_common(AT_FDCWD, path, flags, mode, HOW_OPEN, SITE());
}

MPT__EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	return open_common(AT_FDCWD, path, flags | O_LARGEFILE, mode, HOW_OPEN, SITE());
}

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

MPT__EXPORT int __open_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0, HOW_OPEN, SITE());
}

MPT__EXPORT int __open64_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags | O_LARGEFILE, 0, HOW_OPEN, SITE());
}

MPT__EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	return open_common(dirfd, path, flags, mode, HOW_OPENAT, SITE());
}

MPT__EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	return open_common(dirfd, path, flags | O_LARGEFILE, mode, HOW_OPENAT,
			   SITE());
}

MPT__EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return open_common(dirfd, path, flags, 0, HOW_OPENAT, SITE());
}

MPT__EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return open_common(dirfd, path, flags | O_LARGEFILE, 0, HOW_OPENAT,
			   SITE());
}

MPT__EXPORT int creat(const char *path, mode_t mode)
{
	return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode,
			   HOW_CREAT, SITE());
}

MPT__EXPORT int creat64(const char *path, mode_t mode)
{
	return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE,
			   mode, HOW_CREAT, SITE());
}

MPT__EXPORT FILE *fopen(const char *path, const char *mode)
{
	REAL(FILE *, fopen, (const char *, const char *));
	if (!mpt__shim_on())
		return real_fopen(path, mode);
	ensure_init();
	FILE *f = real_fopen(path, mode);
	if (f)
		made(fileno(f), HOW_FOPEN, SITE());
	return f;
}

MPT__EXPORT FILE *fopen64(const char *path, const char *mode)
{
	REAL(FILE *, fopen64, (const char *, const char *));
	if (!mpt__shim_on())
		return real_fopen64(path, mode);
	ensure_init();
	FILE *f = real_fopen64(path, mode);
	if (f)
		made(fileno(f), HOW_FOPEN, SITE());
	return f;
}

MPT__EXPORT int dup(int fd)
{
	REAL(int, dup, (int));
	if (!mpt__shim_on())
		return real_dup(fd);
	MPT__INJECT_FAIL(MPT__CALL_DUP, -1);
	ensure_init();
	USE(fd);
	int r = real_dup(fd);
	made(r, HOW_DUP, SITE());
	return r;
}

/* dup2 and dup3 close newfd first: for a carried newfd that is a use. */
MPT__EXPORT int dup2(int oldfd, int newfd)
{
	REAL(int, dup2, (int, int));
	if (!mpt__shim_on())
		return real_dup2(oldfd, newfd);
	MPT__INJECT_FAIL(MPT__CALL_DUP2, -1);
	ensure_init();
	USE(oldfd);
	if (oldfd != newfd)
		USE(newfd);
	int r = real_dup2(oldfd, newfd);
	if (r >= 0 && oldfd != newfd)
		made(r, HOW_DUP2, SITE());
	return r;
}

MPT__EXPORT int dup3(int oldfd, int newfd, int flags)
{
	REAL(int, dup3, (int, int, int));
	if (!mpt__shim_on())
		return real_dup3(oldfd, newfd, flags);
	MPT__INJECT_FAIL(MPT__CALL_DUP3, -1);
	ensure_init();
	USE(oldfd);
	USE(newfd);
	int r = real_dup3(oldfd, newfd, flags);
	if (r >= 0)
		made(r, HOW_DUP3, SITE());
	return r;
}

/* Every fcntl command takes at most one argument, an int or a pointer; like
 * libc, pass it on as a pointer-sized value (an int fits). */
static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg,
			uintptr_t site)
{
	if (!mpt__shim_on())
		return real(fd, cmd, arg);
	ensure_init();
	USE(fd);
	int r = real(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		made(r, HOW_FCNTL, site);
	return r;
}

MPT__EXPORT int fcntl(int fd, int cmd, ...)
{
	REAL(int, fcntl, (int, int, ...));
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(real_fcntl, fd, cmd, arg, SITE());
}

int fcntl64(int fd, int cmd, ...);
MPT__EXPORT int fcntl64(int fd, int cmd, ...)
{
	REAL(int, fcntl64, (int, int, ...));
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(real_fcntl64, fd, cmd, arg, SITE());
}

/* ---- wrappers: descriptors closed ------------------------------------------- */

MPT__EXPORT int close(int fd)
{
	REAL(int, close, (int));
	if (!mpt__shim_on())
		return real_close(fd);
	MPT__INJECT_FAIL(MPT__CALL_CLOSE, -1);
	forget(fd);
	return real_close(fd);
}

MPT__EXPORT int fclose(FILE *f)
{
	REAL(int, fclose, (FILE *));
	if (!mpt__shim_on() || !f)
		return real_fclose(f);
	forget(fileno(f));
	return real_fclose(f);
}

MPT__EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	REAL(int, close_range, (unsigned, unsigned, int));
	if (!mpt__shim_on() || (flags & CLOSE_RANGE_CLOEXEC))
		return real_close_range(first, last, flags);
	for (unsigned fd = first; fd <= last && fd < FD_MAX; fd++)
		forget((int)fd);
	return real_close_range(first, last, flags);
}

MPT__EXPORT void closefrom(int lowfd)
{
	REAL(void, closefrom, (int));
	if (mpt__shim_on())
		for (int fd = lowfd < 0 ? 0 : lowfd; fd < FD_MAX; fd++)
			forget(fd);
	real_closefrom(lowfd);
}

/* ---- wrappers: descriptors used ----------------------------------------------
 * Only an exec'd program holding carried descriptors pays more than one
 * branch here. */

MPT__EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	REAL(ssize_t, read, (int, void *, size_t));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_READ, n);
	return real_read(fd, buf, n);
}

MPT__EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, (int, const void *, size_t));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_WRITE, n);
	if (mpt__pipe_emulating()) {
		struct iovec v = {(void *)buf, n};
		ssize_t r;
		if (mpt__pipe_write(fd, &v, 1, MPT__EMU_WRITE, &r))
			return r;
	}
	return real_write(fd, buf, n);
}

/* short=BYTES on a vector call (readv, writev, sendmsg, recvmsg): the call
 * gets a copy of the caller's array, trimmed to the first BYTES bytes (and
 * to at most IOV_CUT entries: still a short transfer); the caller's array
 * is never written. */
#define IOV_CUT 64
static int trim_iov(const struct iovec *iov, int n, size_t max, struct iovec *cut)
{
	int k = 0;
	for (; k < n && k < IOV_CUT && max > 0; k++) {
		cut[k] = iov[k];
		if (cut[k].iov_len > max)
			cut[k].iov_len = max;
		max -= cut[k].iov_len;
	}
	return k;
}

/* The prologue of readv and writev: fail, or point iov and n at the
 * trimmed copy in cut. */
#define MPT__INJECT_IOV(call, iov, n, cut)                                  \
	do {                                                                \
		int64_t v_;                                                 \
		if (mpt__inject_on() && mpt__inject_wants(call)) {          \
			int a_ = mpt__inject_call(call, &v_);               \
			if (a_ == MPT__RULE_ERROR) {                        \
				errno = (int)v_;                            \
				return -1;                                  \
			}                                                   \
			if (a_ == MPT__RULE_SHORT && (n) > 0 && (iov)) {    \
				(n) = trim_iov(iov, n, (size_t)v_, cut);    \
				(iov) = (cut);                              \
			}                                                   \
		}                                                           \
	} while (0)

MPT__EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	REAL(ssize_t, readv, (int, const struct iovec *, int));
	struct iovec cut[IOV_CUT];
	USE(fd);
	MPT__INJECT_IOV(MPT__CALL_READV, iov, n, cut);
	return real_readv(fd, iov, n);
}

MPT__EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	REAL(ssize_t, writev, (int, const struct iovec *, int));
	struct iovec cut[IOV_CUT];
	USE(fd);
	MPT__INJECT_IOV(MPT__CALL_WRITEV, iov, n, cut);
	if (mpt__pipe_emulating()) {
		ssize_t r;
		if (mpt__pipe_write(fd, iov, n, MPT__EMU_WRITEV, &r))
			return r;
	}
	return real_writev(fd, iov, n);
}

MPT__EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pread, (int, void *, size_t, off_t));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_PREAD, n);
	return real_pread(fd, buf, n, off);
}

MPT__EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	REAL(ssize_t, pread64, (int, void *, size_t, off64_t));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_PREAD, n);
	return real_pread64(fd, buf, n, off);
}

MPT__EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, (int, const void *, size_t, off_t));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_PWRITE, n);
	return real_pwrite(fd, buf, n, off);
}

MPT__EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	REAL(ssize_t, pwrite64, (int, const void *, size_t, off64_t));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_PWRITE, n);
	return real_pwrite64(fd, buf, n, off);
}

MPT__EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	REAL(ssize_t, recv, (int, void *, size_t, int));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_RECV, n);
	return real_recv(fd, buf, n, flags);
}

MPT__EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			     __SOCKADDR_ARG addr, socklen_t *len)
{
	REAL(ssize_t, recvfrom, (int, void *, size_t, int, __SOCKADDR_ARG, socklen_t *));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_RECV, n); /* counted as recv */
	return real_recvfrom(fd, buf, n, flags, addr, len);
}

/* sendmsg/recvmsg under a rule: -1 with errno set (the call fails), 1 with
 * *m a copy of msg whose iovec array is cut (a copy in cut, trimmed to the
 * short count), or 0 to go on with msg as it is. */
static int inject_msg(enum mpt__call call, const struct msghdr *msg, struct msghdr *m,
		      struct iovec *cut)
{
	int64_t v;
	int a = mpt__inject_call(call, &v);
	if (a == MPT__RULE_ERROR) {
		errno = (int)v;
		return -1;
	}
	if (a != MPT__RULE_SHORT || msg->msg_iovlen == 0 || !msg->msg_iov)
		return 0;
	int n = msg->msg_iovlen > IOV_CUT ? IOV_CUT : (int)msg->msg_iovlen;
	*m = *msg;
	m->msg_iov = cut;
	m->msg_iovlen = (size_t)trim_iov(msg->msg_iov, n, (size_t)v, cut);
	return 1;
}

MPT__EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	REAL(ssize_t, recvmsg, (int, struct msghdr *, int));
	USE(fd);
	if (mpt__inject_on() && mpt__inject_wants(MPT__CALL_RECV) && msg) { /* as recv */
		struct iovec cut[IOV_CUT];
		struct msghdr m;
		int a = inject_msg(MPT__CALL_RECV, msg, &m, cut);
		if (a < 0)
			return -1;
		if (a > 0) {
			ssize_t r = real_recvmsg(fd, &m, flags);
			/* What the kernel writes back, but not the array. */
			msg->msg_namelen = m.msg_namelen;
			msg->msg_controllen = m.msg_controllen;
			msg->msg_flags = m.msg_flags;
			return r;
		}
	}
	return real_recvmsg(fd, msg, flags);
}

MPT__EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	REAL(ssize_t, send, (int, const void *, size_t, int));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_SEND, n);
	return real_send(fd, buf, n, flags);
}

MPT__EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			   __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	REAL(ssize_t, sendto, (int, const void *, size_t, int, __CONST_SOCKADDR_ARG,
			       socklen_t));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_SEND, n); /* counted as send */
	return real_sendto(fd, buf, n, flags, addr, len);
}

MPT__EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	REAL(ssize_t, sendmsg, (int, const struct msghdr *, int));
	USE(fd);
	if (mpt__inject_on() && mpt__inject_wants(MPT__CALL_SEND) && msg) { /* as send */
		struct iovec cut[IOV_CUT];
		struct msghdr m;
		int a = inject_msg(MPT__CALL_SEND, msg, &m, cut);
		if (a < 0)
			return -1;
		if (a > 0)
			return real_sendmsg(fd, &m, flags);
	}
	return real_sendmsg(fd, msg, flags);
}

MPT__EXPORT int shutdown(int fd, int how)
{
	REAL(int, shutdown, (int, int));
	USE(fd);
	return real_shutdown(fd, how);
}

static void use_pollfds(const struct pollfd *fds, nfds_t n)
{
	for (nfds_t i = 0; fds && i < n; i++)
		if (fds[i].fd >= 0)
			note_use(fds[i].fd);
}

MPT__EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	REAL(int, poll, (struct pollfd *, nfds_t, int));
	if (__builtin_expect(fd_watch, 0))
		use_pollfds(fds, n);
	return real_poll(fds, n, timeout);
}

MPT__EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t,
		      const sigset_t *mask)
{
	REAL(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *));
	if (__builtin_expect(fd_watch, 0))
		use_pollfds(fds, n);
	return real_ppoll(fds, n, t, mask);
}

static void use_fdsets(int n, const fd_set *a, const fd_set *b, const fd_set *c)
{
	for (int fd = 0; fd < n && fd < FD_SETSIZE; fd++)
		if ((a && FD_ISSET(fd, a)) || (b && FD_ISSET(fd, b)) || (c && FD_ISSET(fd, c)))
			note_use(fd);
}

MPT__EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *t)
{
	REAL(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *));
	if (__builtin_expect(fd_watch, 0))
		use_fdsets(n, r, w, x);
	return real_select(n, r, w, x, t);
}

MPT__EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *x, const struct timespec *t,
			const sigset_t *mask)
{
	REAL(int, pselect, (int, fd_set *, fd_set *, fd_set *, const struct timespec *,
			    const sigset_t *));
	if (__builtin_expect(fd_watch, 0))
		use_fdsets(n, r, w, x);
	return real_pselect(n, r, w, x, t, mask);
}

MPT__EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	REAL(int, epoll_ctl, (int, int, int, struct epoll_event *));
	USE(epfd);
	USE(fd);
	return real_epoll_ctl(epfd, op, fd, ev);
}

MPT__EXPORT FILE *fdopen(int fd, const char *mode)
{
	REAL(FILE *, fdopen, (int, const char *));
	USE(fd);
	return real_fdopen(fd, mode);
}

MPT__EXPORT int ioctl(int fd, unsigned long req, ...)
{
	REAL(int, ioctl, (int, unsigned long, ...));
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	USE(fd);
	return real_ioctl(fd, req, arg);
}

MPT__EXPORT int fstat(int fd, struct stat *st)
{
	REAL(int, fstat, (int, struct stat *));
	USE(fd);
	return real_fstat(fd, st);
}

MPT__EXPORT int fstat64(int fd, struct stat64 *st)
{
	REAL(int, fstat64, (int, struct stat64 *));
	USE(fd);
	return real_fstat64(fd, st);
}

MPT__EXPORT off_t lseek(int fd, off_t off, int whence)
{
	REAL(off_t, lseek, (int, off_t, int));
	USE(fd);
	return real_lseek(fd, off, whence);
}

MPT__EXPORT off64_t lseek64(int fd, off64_t off, int whence)
{
	REAL(off64_t, lseek64, (int, off64_t, int));
	USE(fd);
	return real_lseek64(fd, off, whence);
}

MPT__EXPORT int ftruncate(int fd, off_t len)
{
	REAL(int, ftruncate, (int, off_t));
	USE(fd);
	return real_ftruncate(fd, len);
}

MPT__EXPORT int fsync(int fd)
{
	REAL(int, fsync, (int));
	USE(fd);
	return real_fsync(fd);
}

MPT__EXPORT int fdatasync(int fd)
{
	REAL(int, fdatasync, (int));
	USE(fd);
	return real_fdatasync(fd);
}

MPT__EXPORT int fchdir(int fd)
{
	REAL(int, fchdir, (int));
	USE(fd);
	return real_fchdir(fd);
}

MPT__EXPORT DIR *fdopendir(int fd)
{
	REAL(DIR *, fdopendir, (int));
	USE(fd);
	return real_fdopendir(fd);
}

/* A mapping refused for want of address space: under --max-memory, the
 * test's resource-limit finding, as for a failed malloc (limits.c). */
static void *mapped(void *p, size_t len, uintptr_t site)
{
	if (__builtin_expect(p == MAP_FAILED, 0) && errno == ENOMEM && mpt__shim_on())
		mpt__limit_alloc_failed("mmap", len, site);
	return p;
}

MPT__EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	REAL(void *, mmap, (void *, size_t, int, int, int, off_t));
	if (fd >= 0)
		USE(fd);
	return mapped(real_mmap(addr, len, prot, flags, fd, off), len,
		      (uintptr_t)__builtin_return_address(0));
}

MPT__EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	REAL(void *, mmap64, (void *, size_t, int, int, int, off64_t));
	if (fd >= 0)
		USE(fd);
	return mapped(real_mmap64(addr, len, prot, flags, fd, off), len,
		      (uintptr_t)__builtin_return_address(0));
}

MPT__EXPORT ssize_t splice(int in, loff_t *in_off, int out, loff_t *out_off, size_t n,
			   unsigned flags)
{
	REAL(ssize_t, splice, (int, loff_t *, int, loff_t *, size_t, unsigned));
	USE(in);
	USE(out);
	return real_splice(in, in_off, out, out_off, n, flags);
}

MPT__EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
	REAL(ssize_t, sendfile, (int, int, off_t *, size_t));
	USE(out);
	USE(in);
	return real_sendfile(out, in, off, n);
}

MPT__EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t n)
{
	REAL(ssize_t, sendfile64, (int, int, off64_t *, size_t));
	USE(out);
	USE(in);
	return real_sendfile64(out, in, off, n);
}

MPT__EXPORT ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off,
				    size_t n, unsigned flags)
{
	REAL(ssize_t, copy_file_range, (int, off64_t *, int, off64_t *, size_t, unsigned));
	USE(in);
	USE(out);
	return real_copy_file_range(in, in_off, out, out_off, n, flags);
}

/* The fortified forms programs built with _FORTIFY_SOURCE call instead. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       __SOCKADDR_ARG addr, socklen_t *len);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);

MPT__EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	REAL(ssize_t, __read_chk, (int, void *, size_t, size_t));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_READ, n);
	return real___read_chk(fd, buf, n, buflen);
}

MPT__EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	REAL(ssize_t, __pread_chk, (int, void *, size_t, off_t, size_t));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_PREAD, n);
	return real___pread_chk(fd, buf, n, off, buflen);
}

MPT__EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	REAL(ssize_t, __pread64_chk, (int, void *, size_t, off64_t, size_t));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_PREAD, n);
	return real___pread64_chk(fd, buf, n, off, buflen);
}

MPT__EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	REAL(ssize_t, __recv_chk, (int, void *, size_t, size_t, int));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_RECV, n);
	return real___recv_chk(fd, buf, n, buflen, flags);
}

MPT__EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				   __SOCKADDR_ARG addr, socklen_t *len)
{
	REAL(ssize_t, __recvfrom_chk, (int, void *, size_t, size_t, int, __SOCKADDR_ARG,
				       socklen_t *));
	USE(fd);
	MPT__INJECT_IO(MPT__CALL_RECV, n);
	return real___recvfrom_chk(fd, buf, n, buflen, flags, addr, len);
}

MPT__EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	REAL(int, __poll_chk, (struct pollfd *, nfds_t, int, size_t));
	if (__builtin_expect(fd_watch, 0))
		use_pollfds(fds, n);
	return real___poll_chk(fds, n, timeout, fdslen);
}
