/* Per-test resource limits in the shim (--max-procs, --max-memory).
 *
 * --max-procs counts the processes of a test that are not yet reaped, the
 * leader and zombies included (a zombie still holds its pid). RLIMIT_NPROC
 * cannot do it: it counts the user's processes, not the test's, and does
 * not bind root. So the fork family reserves a place in the region's
 * live_procs before the real call and refuses with EAGAIN, as a cgroup's
 * pids.max would, when the test is at its limit; the wait family gives the
 * place back at each reap. A count that is too high (children reaped
 * without a wait call because SIGCHLD is ignored, orphans reaped by the
 * runner) is corrected before a refusal: the leader's tree is counted in
 * /proc then. A count that is too low (processes started by a program
 * without the shim) is the runner's to catch: it counts the tree from
 * outside every 20 ms and ends a test that is well past its limit.
 *
 * --max-memory: the runner sets RLIMIT_AS in the leader, inherited by
 * every process of the test; the allocator wrappers (threads.c) report the
 * first allocation that fails under it.
 *
 * The first limit a test reaches is its resource-limit finding (limit_hit
 * in the region makes it one); once the record is published, the runner
 * ends the test. */
#define _GNU_SOURCE
#include "limits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/kinds.h"
#include "../core/procid.h"
#include "../core/util.h"
#include "shim.h"

/* ---- counting the leader's tree in /proc ----------------------------------
 * Raw system calls: open() and close() are fd.c's wrappers, which would
 * note descriptors of ours. Static buffers keep a small thread stack safe;
 * a second thread counting at the same moment gets no answer (-1). */

#define TREE_MAX 4096

static char *put_uint(char *p, unsigned long v)
{
	char d[24];
	int n = 0;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = d[--n];
	return p;
}

static ssize_t read_raw(const char *path, char *buf, size_t size)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len + 1 < size) {
		ssize_t n = syscall(SYS_read, fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	syscall(SYS_close, fd);
	buf[len] = 0;
	return (ssize_t)len;
}

struct dent64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* The processes in the leader's tree, the leader and zombies included,
 * counted up to max; -1 when it cannot tell. Orphans the runner adopted
 * are not in the tree: this count errs low, never high. */
static int count_tree(pid_t leader, int max)
{
	static pid_t q[TREE_MAX];
	static char buf[1 << 16];
	static atomic_flag busy = ATOMIC_FLAG_INIT;
	if (leader <= 0 || atomic_flag_test_and_set(&busy))
		return -1;
	int e = errno, n = 0;
	q[n++] = leader;
	for (int i = 0; i < n && n < max && n < TREE_MAX; i++) {
		char dir[64], *p = dir;
		memcpy(p, "/proc/", 6);
		p = put_uint(p + 6, (unsigned long)q[i]);
		memcpy(p, "/task", 6);
		int dfd = (int)syscall(SYS_openat, AT_FDCWD, dir,
				       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue; /* gone meanwhile */
		char dents[2048];
		long nb;
		while (n < max && n < TREE_MAX &&
		       (nb = syscall(SYS_getdents64, dfd, dents, sizeof dents)) > 0) {
			for (long off = 0; off < nb;) {
				struct dent64 *d = (struct dent64 *)(dents + off);
				off += d->reclen;
				if (d->name[0] == '.')
					continue;
				char path[128];
				size_t dl = strlen(dir), tl = strnlen(d->name, 24);
				memcpy(path, dir, dl);
				path[dl] = '/';
				memcpy(path + dl + 1, d->name, tl);
				memcpy(path + dl + 1 + tl, "/children", 10);
				if (read_raw(path, buf, sizeof buf) <= 0)
					continue;
				for (char *c = buf; *c && n < TREE_MAX;) {
					unsigned long v = 0;
					if (*c < '0' || *c > '9')
						break;
					while (*c >= '0' && *c <= '9')
						v = v * 10 + (unsigned long)(*c++ - '0');
					q[n++] = (pid_t)v;
					while (*c == ' ' || *c == '\n')
						c++;
				}
			}
		}
		syscall(SYS_close, dfd);
	}
	atomic_flag_clear(&busy);
	errno = e;
	if (n >= TREE_MAX && max > TREE_MAX)
		return -1;
	return n < max ? n : max;
}

/* ---- --max-procs ------------------------------------------------------------ */

static void refused(const char *call, uintptr_t site, unsigned max)
{
	struct mpt__region *g = mpt__current;
	unsigned none = 0;
	if (!atomic_compare_exchange_strong(&g->limit_hit, &none, 1))
		return; /* the test's finding is made already */
	int e = errno;
	char msg[512], forked[64] = "", where[160] = "", detail[768];
	struct mpt__proc *me = mpt__proc_find(g, getpid());
	if (me)
		snprintf(forked, sizeof forked, " (%s forked %u children)", mpt__procid(),
			 atomic_load(&me->nforks));
	snprintf(msg, sizeof msg, "%s refused: the test reached --max-procs=%u live processes%s",
		 call, max, forked);
	if (site)
		mpt__site_text(site, where, sizeof where);
	snprintf(detail, sizeof detail,
		 "%s%s%sEvery process of a test counts until it is reaped, zombies included; "
		 "the call failed with EAGAIN, as under a cgroup's pids.max. Reap children as "
		 "they end and bound the number of workers; if the test needs that many "
		 "processes, raise --max-procs (0 or unlimited: no limit).",
		 where[0] ? "Called from " : "", where, where[0] ? ". " : "");
	mpt__shim_finding(MPT__K_RESOURCE_LIMIT, msg, detail);
	atomic_store(&g->limit_hit, 2); /* published: the runner may end the test */
	errno = e;
}

int mpt__limit_fork_begin(const char *call, uintptr_t site)
{
	struct mpt__region *g = mpt__current;
	unsigned max = g->max_procs;
	if (__builtin_expect(!max, 1))
		return 0;
	int before = atomic_fetch_add(&g->live_procs, 1);
	if (before < (int)max)
		return 0;
	atomic_fetch_sub(&g->live_procs, 1);
	/* At the limit by the count: make sure. Forks elsewhere in the tree
	 * meanwhile can make the corrected count a little low; the runner's
	 * own count bounds that. */
	int real = count_tree(g->leader, (int)max);
	if (real > 0 && real < (int)max) {
		atomic_store(&g->live_procs, real + 1);
		return 0;
	}
	refused(call, site, max);
	errno = EAGAIN;
	return -1;
}

void mpt__limit_fork_end(int made)
{
	struct mpt__region *g = mpt__current;
	if (__builtin_expect(!g->max_procs, 1) || made)
		return;
	atomic_fetch_sub(&g->live_procs, 1);
}

void mpt__limit_reaped(void)
{
	struct mpt__region *g = mpt__current;
	if (__builtin_expect(!g->max_procs, 1))
		return;
	/* Never below the leader: a child started without the shim (a raw
	 * clone) was never counted, but its reap is. */
	int v = atomic_load(&g->live_procs);
	while (v > 1 && !atomic_compare_exchange_weak(&g->live_procs, &v, v - 1))
		;
}

/* ---- --max-memory ------------------------------------------------------------ */

void mpt__limit_alloc_failed(const char *call, size_t n, uintptr_t site)
{
	if (!mpt__shim_on())
		return;
	struct mpt__region *g = mpt__current;
	/* A request no allocator could meet fails with or without a limit. */
	unsigned none = 0;
	if (!g->max_memory || n > PTRDIFF_MAX ||
	    !atomic_compare_exchange_strong(&g->limit_hit, &none, 1))
		return;
	int e = errno;
	char lim[32], msg[512], where[160] = "", detail[768];
	mpt__size_text(g->max_memory, lim, sizeof lim);
	snprintf(msg, sizeof msg, "%s(%zu) failed: the process reached --max-memory=%s",
		 call, n, lim);
	/* Symbolizing needs memory the process no longer has: the runner
	 * left room between the soft limit and the hard one for this. */
	struct rlimit rl;
	int raised = 0;
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rlim_t soft = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		raised = setrlimit(RLIMIT_AS, &rl) == 0;
		rl.rlim_cur = soft;
	}
	if (site)
		mpt__site_text(site, where, sizeof where);
	if (raised)
		setrlimit(RLIMIT_AS, &rl);
	snprintf(detail, sizeof detail,
		 "%s%s%s--max-memory bounds the address space of each process of the test "
		 "(RLIMIT_AS). Free what the test no longer needs; if it needs that much, "
		 "raise --max-memory.",
		 where[0] ? "Called from " : "", where, where[0] ? ". " : "");
	mpt__shim_finding(MPT__K_RESOURCE_LIMIT, msg, detail);
	atomic_store(&g->limit_hit, 2);
	errno = e;
}
