/* End-of-test lock checks, in the runner (lock-held; HAZARDS rows 3 and 6):
 *   - process-shared mutexes and semaphores the shim saw taken and never
 *     given back, by a process still running (held at the end of the test)
 *     or by one that died and that nobody reported yet: the shim reports a
 *     process that exits holding a mutex itself, and p0 reports at its exit
 *     the holders that died before it (framework/preload/lock.c);
 *   - flock(), fcntl() and open-file-description locks still held by a
 *     live process of the test, from /proc/PID/fdinfo (a lock taken by a
 *     process that has gone shows under whoever still has the file open).
 * The table's layout is in framework/core/lockslot.h. */
#define _GNU_SOURCE
#include "endcheck.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/kinds.h"
#include "../core/lockslot.h"
#include "../core/region.h"
#include "../core/util.h"
#include "symbolize.h"

static int listed(const pid_t *pids, int n, pid_t pid)
{
	for (int i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/* "p0.1 (pid 123, prog)" */
static char *who(struct mpt__region *r, pid_t pid, const char *id)
{
	struct mpt__proc *p = mpt__proc_find(r, pid);
	if ((!id || !*id) && p)
		id = p->id;
	return mpt__xasprintf("%s (pid %d%s%s)", id && *id ? id : "a process", (int)pid,
			      p && p->prog[0] ? ", " : "", p ? p->prog : "");
}

/* Names a call site of pid: in pid itself while it runs, else in its
 * nearest live ancestor running the same program (a fork shares its
 * layout), else as a bare address. */
static char *site_text(struct mpt__region *r, pid_t pid, uintptr_t site,
		       const pid_t *pids, int n)
{
	char buf[200] = "";
	if (!site)
		return NULL;
	struct mpt__proc *p = mpt__proc_find(r, pid);
	if (listed(pids, n, pid)) {
		mpt__symbolize(pid, site, buf, sizeof buf);
	} else if (p) {
		struct mpt__proc *a = p;
		for (int depth = 0; depth < 64 && !buf[0]; depth++) {
			a = mpt__proc_find(r, a->ppid);
			if (!a || strncmp(a->prog, p->prog, sizeof a->prog))
				break;
			if (listed(pids, n, a->pid))
				mpt__symbolize(a->pid, site, buf, sizeof buf);
		}
	}
	if (!buf[0])
		snprintf(buf, sizeof buf, "%#lx", (unsigned long)site);
	return mpt__xstrdup(buf);
}

/* How a process that is gone ended, from the table. */
static void how_it_ended(struct mpt__region *r, pid_t pid, char *buf, size_t n)
{
	struct mpt__proc *p = mpt__proc_find(r, pid);
	int state = p ? atomic_load(&p->state) : MPT__PS_RUNNING;
	char sig[16];
	if (state == MPT__PS_REAPED && WIFSIGNALED(p->status))
		snprintf(buf, n, "was killed by %s", mpt__signal_name(WTERMSIG(p->status), sig));
	else if (state == MPT__PS_REAPED)
		snprintf(buf, n, "exited (status %d)", WEXITSTATUS(p->status));
	else if (state == MPT__PS_EXITED)
		snprintf(buf, n, "exited (status %d)", p->exited_code & 0xff);
	else
		snprintf(buf, n, "died");
}

static void check_slot(struct mpt__region *r, struct mpt__lock *L, const pid_t *pids,
		       int n, mpt__finding_fn *emit)
{
	unsigned u = mpt__lockslot_flags(L);
	if (!(u & MPT__LS_READY) || (u & (MPT__LS_PRIVATE | MPT__LS_REPORTED)))
		return;
	pid_t owner = atomic_load(&L->owner);
	if (owner <= 0)
		return;
	int live = listed(pids, n, owner), robust = (u & MPT__LS_ROBUST) != 0, value = 0;
	int units = __atomic_load_n(&L->count, __ATOMIC_ACQUIRE);
	const char *advice, *verb = "Locked";
	char *object;
	switch (L->type) {
	case MPT__LOCK_MUTEX:
		object = mpt__xasprintf("process-shared %smutex %#lx", robust ? "robust " : "",
					(unsigned long)L->addr);
		advice = live ? MPT__LS_ADVICE_END
			 : robust ? MPT__LS_ADVICE_ROBUST : MPT__LS_ADVICE_KILLED;
		break;
	case MPT__LOCK_GHOST:
		if (u & MPT__LS_RESOLVED)
			return;
		object = mpt__xasprintf("process-shared robust mutex %#lx",
					(unsigned long)(L->addr & ~(uintptr_t)1));
		advice = u & MPT__LS_UNRECOVERABLE ? MPT__LS_ADVICE_UNRECOVERABLE
						   : MPT__LS_ADVICE_ROBUST;
		live = 0; /* a ghost's holder is gone, whatever its pid is now */
		break;
	case MPT__LOCK_SEM:
		if (units <= 0 || !mpt__lockslot_sem_stuck(r, L->addr, &value))
			return;
		object = mpt__xasprintf("%d unit%s of process-shared semaphore %#lx (its value is "
					"now %d)", units, units == 1 ? "" : "s",
					(unsigned long)L->addr, value < 0 ? 0 : value);
		advice = live ? MPT__LS_ADVICE_END : MPT__LS_ADVICE_SEM;
		verb = "Taken";
		break;
	default:
		return; /* file locks: from /proc below */
	}
	if (atomic_fetch_or(&L->used, MPT__LS_REPORTED) & MPT__LS_REPORTED) {
		free(object);
		return;
	}
	char id[sizeof L->owner_id], how[64];
	memcpy(id, L->owner_id, sizeof id);
	id[sizeof id - 1] = 0;
	char *name = who(r, owner, id);
	char *msg;
	if (live) {
		msg = mpt__xasprintf("%s still held %s at the end of the test", name, object);
	} else {
		how_it_ended(r, owner, how, sizeof how);
		msg = mpt__xasprintf("%s %s while holding %s", name, how, object);
	}
	char *site = site_text(r, owner, L->site, pids, n);
	char *detail = site ? mpt__xasprintf("%s at %s. %s", verb, site, advice)
			    : mpt__xstrdup(advice);
	const char *pid_id = mpt__proc_id(r, owner);
	emit(MPT__K_LOCK_HELD, owner, id[0] ? id : pid_id, msg, detail);
	free(object);
	free(name);
	free(msg);
	free(site);
	free(detail);
}

/* ---- file locks ------------------------------------------------------------- */

struct file_lock {
	pid_t holder;      /* a live process with the file open */
	pid_t taker;       /* the pid the kernel names (-1: an OFD lock) */
	char kind[16];     /* FLOCK, POSIX, OFDLCK */
	char mode[16];     /* READ, WRITE */
	unsigned major, minor;
	unsigned long ino;
	char range[48];    /* "0 EOF" */
	dev_t dev;         /* as stat() sees the file (may differ from major:minor) */
	ino_t st_ino;
	char path[256];
};

/* The granted locks on pid's open files, from the "lock:" lines of
 * /proc/PID/fdinfo/N. */
static void locks_of(pid_t pid, struct file_lock **all, size_t *n, size_t *cap)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%d/fdinfo", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		int fdno = atoi(e->d_name);
		char path[96], info[4096];
		snprintf(path, sizeof path, "%s/%d", dir, fdno);
		if (mpt__read_file(path, info, sizeof info) <= 0 || !strstr(info, "lock:"))
			continue;
		for (char *line = strstr(info, "lock:"); line; line = strstr(line + 1, "\nlock:")) {
			if (*line == '\n')
				line++;
			struct file_lock f = {.holder = pid};
			char start[24], end[24];
			if (sscanf(line, "lock:\t%*d: %15s %*s %15s %d %x:%x:%lu %23s %23s", f.kind,
				   f.mode, &f.taker, &f.major, &f.minor, &f.ino, start, end) != 8)
				continue;
			if (strcmp(f.kind, "FLOCK") && strcmp(f.kind, "POSIX") &&
			    strcmp(f.kind, "OFDLCK"))
				continue; /* leases and delegations are not locks */
			snprintf(f.range, sizeof f.range, "%s-%s", start, end);
			char fd[96];
			snprintf(fd, sizeof fd, "/proc/%d/fd/%d", (int)pid, fdno);
			struct stat st;
			if (stat(fd, &st) == 0) {
				f.dev = st.st_dev;
				f.st_ino = st.st_ino;
			}
			ssize_t k = readlink(fd, f.path, sizeof f.path - 1);
			f.path[k > 0 ? k : 0] = 0;
			if (*n == *cap)
				*all = mpt__xrealloc(*all, (*cap = *cap ? 2 * *cap : 8) * sizeof **all);
			(*all)[(*n)++] = f;
		}
	}
	closedir(d);
}

static int same_lock(const struct file_lock *a, const struct file_lock *b)
{
	return !strcmp(a->kind, b->kind) && a->taker == b->taker && a->major == b->major &&
	       a->minor == b->minor && a->ino == b->ino && !strcmp(a->range, b->range);
}

/* The call site the shim noted for a flock()/lockf() by taker on the file. */
static struct mpt__lock *file_slot(struct mpt__region *r, const struct file_lock *f)
{
	int type = !strcmp(f->kind, "FLOCK") ? MPT__LOCK_FLOCK : MPT__LOCK_LOCKF;
	int dev = MPT__LS_DEV(major(f->dev), minor(f->dev));
	for (int i = 0; r && i < MPT__MAX_LOCKS; i++) {
		struct mpt__lock *L = &r->locks[i];
		unsigned u = mpt__lockslot_flags(L);
		if ((u & MPT__LS_READY) && (u & MPT__LS_HELD) && L->type == type &&
		    L->addr == (uintptr_t)f->st_ino && L->count == dev &&
		    atomic_load(&L->owner) == (f->taker > 0 ? f->taker : f->holder))
			return L;
	}
	return NULL;
}

static void report_file_lock(struct mpt__region *r, const struct file_lock *f,
			     const pid_t *pids, int n, mpt__finding_fn *emit)
{
	int write = !strcmp(f->mode, "WRITE");
	char what[96];
	if (!strcmp(f->kind, "FLOCK"))
		snprintf(what, sizeof what, "flock(LOCK_%s)", write ? "EX" : "SH");
	else if (!strcmp(f->kind, "POSIX"))
		snprintf(what, sizeof what, "an fcntl()/lockf() %s lock (bytes %s)",
			 write ? "write" : "read", f->range);
	else
		snprintf(what, sizeof what, "an open-file-description %s lock (bytes %s)",
			 write ? "write" : "read", f->range);
	const char *id = r ? mpt__proc_id(r, f->holder) : NULL;
	char *name = r ? who(r, f->holder, id) : mpt__xasprintf("process %d", (int)f->holder);
	char *taken = NULL;
	if (f->taker > 0 && f->taker != f->holder) {
		const char *tid = r ? mpt__proc_id(r, f->taker) : NULL;
		taken = mpt__xasprintf(", taken by %s (pid %d) and inherited", tid ? tid : "another process",
				       (int)f->taker);
	}
	char *msg = mpt__xasprintf("%s still held %s on %s%s at the end of the test", name, what,
				   f->path[0] ? f->path : "a file", taken ? taken : "");
	struct mpt__lock *L = file_slot(r, f);
	char *site = L ? site_text(r, atomic_load(&L->owner), L->site, pids, n) : NULL;
	char *detail = site ? mpt__xasprintf("Locked at %s. %s", site, MPT__LS_ADVICE_FILE)
			    : mpt__xstrdup(MPT__LS_ADVICE_FILE);
	emit(MPT__K_LOCK_HELD, f->holder, id, msg, detail);
	free(name);
	free(taken);
	free(msg);
	free(site);
	free(detail);
}

static void file_locks(struct mpt__region *r, const pid_t *pids, int n, mpt__finding_fn *emit)
{
	struct file_lock *all = NULL;
	size_t k = 0, cap = 0;
	for (int i = 0; i < n; i++)
		locks_of(pids[i], &all, &k, &cap);
	for (size_t i = 0; i < k; i++) {
		/* A lock shows on every descriptor of its open file: report
		 * it once, under its taker when that one still has it. */
		size_t pick = i;
		int first = 1;
		for (size_t j = 0; j < k; j++) {
			if (!same_lock(&all[i], &all[j]))
				continue;
			if (j < i)
				first = 0;
			if (all[j].holder == all[j].taker && all[pick].holder != all[pick].taker)
				pick = j;
		}
		if (first)
			report_file_lock(r, &all[pick], pids, n, emit);
	}
	free(all);
}

void mpt__lock_end_of_test(struct mpt__region *r, const pid_t *pids, int n,
			   mpt__finding_fn *emit)
{
	if (r)
		for (int i = 0; i < MPT__MAX_LOCKS; i++)
			check_slot(r, &r->locks[i], pids, n, emit);
	file_locks(r, pids, n, emit);
}
