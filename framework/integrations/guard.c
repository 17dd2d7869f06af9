/* The per-test guard behind the Check adapter (include/mptest-check.h), in
 * libmptest so that it needs nothing from Check.
 *
 * mpt_guard_begin() makes the calling process a test leader of its own: a
 * session region, the logical id p0, the linked-in shim on (fork sites,
 * reaps, the per-process checks of every child), and a subreaper, so that
 * no descendant can slip away by daemonizing. mpt_guard_end() then checks
 * what the runner checks when a test ends — what the processes recorded,
 * zombies, descriptors and locks, processes still running (killed) — and
 * puts the process back as it was, so it works again for the next test of
 * a CK_NOFORK run. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../include/mptest.h"
#include "../core/kinds.h"
#include "../core/procid.h"
#include "../core/region.h"
#include "../core/util.h"
#include "../inspect/endcheck.h"
#include "../inspect/zombie.h"
#include "../preload/shim.h"
#include "../runner/contain.h"

void mpt__shim_enable(void); /* framework/preload/shim.c */
extern void (*mpt__exit_hook)(void); /* framework/preload/proc.c */

MPT_API void mpt_guard_begin(void);
MPT_API int mpt_guard_end(char *text, size_t size);

#define MAX_PIDS 512
#define MAX_BASE 64

static struct {
	int on;
	pid_t self;
	int old_subreaper;
	struct mpt__region *region;   /* ours, kept for the next test */
	pid_t region_owner;           /* the process that made it */
	struct mpt__region *saved;    /* mpt__current before */
	int own;                      /* we made the region current */
	int shared;                   /* tests share this process (CK_NOFORK) */
	pid_t base[MAX_BASE];         /* children that were there before */
	int nbase;
	unsigned long tokens;
} G;

/* What the checks found: counts per kind and the first one's text. */
static struct {
	int n;
	int per_kind[MPT__K_COUNT];
	char *first;
} F;

static void exiting(void);

static int in_base(pid_t pid)
{
	for (int i = 0; i < G.nbase; i++)
		if (G.base[i] == pid)
			return 1;
	return 0;
}

/* Every descendant of this process (children first), outside the baseline. */
static int descendants(pid_t *out, int max)
{
	int n = mpt__children_of(G.self, out, 0, max), k = 0;
	for (int i = 0; i < n;) {
		if (in_base(out[i])) {
			out[i] = out[--n];
			continue;
		}
		i++;
	}
	for (; k < n && n < max; k++)
		n = mpt__children_of(out[k], out, n, max);
	return n;
}

/* Check's fork mode runs each test in a child of the process that runs
 * the suite, the same program; in CK_NOFORK the test runs in that process,
 * whose parent (a shell, make, mpt-run) is another program. This tells
 * the two apart at the first test too, where srunner_set_fork_status() set
 * in the code leaves no other trace. */
static int parent_runs_this_program(void)
{
	char path[64];
	struct stat self, parent;
	snprintf(path, sizeof path, "/proc/%d/exe", (int)getppid());
	if (stat("/proc/self/exe", &self) < 0 || stat(path, &parent) < 0)
		return 1; /* cannot tell: assume fork mode, as before */
	return self.st_dev == parent.st_dev && self.st_ino == parent.st_ino;
}

void mpt_guard_begin(void)
{
	if (G.on)
		(void)mpt_guard_end(NULL, 0); /* a teardown that never ran */
	G.self = getpid();
	prctl(PR_GET_CHILD_SUBREAPER, &G.old_subreaper);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid_t kids[MAX_BASE];
	G.nbase = mpt__children_of(G.self, kids, 0, MAX_BASE);
	memcpy(G.base, kids, sizeof kids[0] * (size_t)G.nbase);
	/* Check's fork mode gives each test a fresh process; a second test in
	 * this one, CK_FORK=no, or a parent that is not the suite's runner
	 * means CK_NOFORK. */
	const char *ck_fork = getenv("CK_FORK");
	G.shared = (ck_fork && !strcmp(ck_fork, "no")) ||
		   (G.region && G.region_owner == G.self) || !parent_runs_this_program();
	G.saved = mpt__current;
	G.own = mpt__current == NULL;
	if (G.own) {
		/* A region per process, wiped for each test. */
		if (!G.region || G.region_owner != G.self) {
			G.region = mpt__region_new(++G.tokens, NULL);
			G.region_owner = G.self;
		} else {
			memset(G.region, 0, sizeof *G.region);
			G.region->magic = MPT__REGION_MAGIC;
		}
		if (G.region) {
			G.region->leader = G.self;
			mpt__current = G.region;
			mpt__procid_leader_init();
			mpt__shim_enable();
		}
	}
	F.n = 0;
	memset(F.per_kind, 0, sizeof F.per_kind);
	free(F.first);
	F.first = NULL;
	mpt__exit_hook = exiting;
	G.on = 1;
}

static void found(int kind, pid_t pid, const char *id, const char *message,
		  const char *detail)
{
	(void)pid;
	(void)id;
	if (kind < 0 || kind >= MPT__K_COUNT)
		return;
	F.per_kind[kind]++;
	if (F.n++ == 0) {
		char *text = mpt__xasprintf("%s: %s%s%s", mpt__kind_name(kind), message,
					    detail && *detail ? ". " : "", detail ? detail : "");
		for (char *p = text; *p; p++)
			if (*p == '\n')
				*p = ' ';
		F.first = text;
	}
}

/* Zombies of this process; an orphan that came to us (the subreaper) after
 * its own parent died is not our doing. Every child this process forks
 * through the shim is entered in the table with us as its parent, so one
 * missing from a table with room was forked elsewhere: by a program a
 * child exec'd, which runs without the shim here (a shell script's
 * background job), and came to us as an orphan. (What this process starts
 * past the shim — popen(), which spawns inside libc — is missed too.) */
static void found_zombie(int kind, pid_t pid, const char *id, const char *message,
			 const char *detail)
{
	struct mpt__proc *p = mpt__current ? mpt__proc_find(mpt__current, pid) : NULL;
	if (in_base(pid) || (p && p->ppid != G.self))
		return;
	if (!p && G.own && pid != G.self && mpt__current &&
	    atomic_load(&mpt__current->nprocs) < MPT__MAX_PROCS)
		return;
	found(kind, pid, id, message, detail);
}

static void read_records(struct mpt__region *g)
{
	unsigned n = atomic_load(&g->nrecords);
	if (n > MPT__MAX_RECORDS)
		n = MPT__MAX_RECORDS;
	for (unsigned i = 0; i < n; i++) {
		struct mpt__record *rec = &g->records[i];
		if (!atomic_load_explicit(&rec->ready, memory_order_acquire) ||
		    !mpt__kind_name(rec->kind))
			continue;
		rec->message[sizeof rec->message - 1] = 0;
		rec->detail[sizeof rec->detail - 1] = 0;
		rec->file[sizeof rec->file - 1] = 0;
		char *msg = rec->file[0]
			? mpt__xasprintf("%s (pid %d): %s:%d: %s", rec->process, (int)rec->pid,
					 rec->file, rec->line, rec->message)
			: mpt__xstrdup(rec->message);
		found(rec->kind, rec->pid, rec->process, msg, rec->detail);
		free(msg);
	}
}

static void leaked(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		char st = mpt__proc_state(pids[i]);
		if (!st || st == 'Z' || st == 'X' || mpt__proc_dying(pids[i]))
			continue;
		char comm[64];
		mpt__proc_comm(pids[i], comm, sizeof comm);
		const char *id = mpt__current ? mpt__proc_id(mpt__current, pids[i]) : NULL;
		char *msg = mpt__xasprintf("%s (pid %d, %s) was still running when the "
					   "test ended; the harness killed it",
					   id ? id : "process", (int)pids[i], comm);
		found(MPT__K_LEAKED_PROCESS, pids[i], id, msg,
		      "Every process a test starts must be waited for (waitpid) "
		      "before the test ends; stop and reap daemons and workers in "
		      "the test's cleanup.");
		free(msg);
	}
}

/* What is on its way settles before the verdict: a child forked just before
 * the test ended enters itself in the table when it first runs (give it
 * 20 ms, so that findings can name it), and one that is exiting becomes a
 * zombie (give it 2 s: under Valgrind, unmapping a process takes a while) —
 * it exited, so it is judged as exited, not as still running. */
static void settle(const pid_t *pids, int n)
{
	for (int round = 0; round < 2000; round++) {
		int unnamed = 0, exiting = 0;
		for (int i = 0; i < n; i++) {
			char st = mpt__proc_state(pids[i]);
			if (!st || st == 'Z' || st == 'X')
				continue;
			if (mpt__proc_dying(pids[i]))
				exiting = 1;
			else if (mpt__current && !mpt__proc_find(mpt__current, pids[i]))
				unnamed = 1;
		}
		if (!exiting && (!unnamed || round >= 20))
			return;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
}

/* Kills what is left and reaps what is ours to reap. */
static void clean_up(void)
{
	pid_t pids[MAX_PIDS];
	for (int round = 0; round < 200; round++) {
		int n = descendants(pids, MAX_PIDS), alive = 0;
		for (int i = 0; i < n; i++)
			if (mpt__proc_state(pids[i]) != 'Z') {
				kill(pids[i], SIGKILL);
				alive++;
			}
		/* Our children only: the rest come to us as they die. */
		int k = mpt__children_of(G.self, pids, 0, MAX_PIDS), st;
		for (int i = 0; i < k; i++)
			if (!in_base(pids[i]) && mpt__proc_state(pids[i]) == 'Z')
				waitpid(pids[i], &st, WNOHANG);
		if (n == 0)
			return;
		if (alive == 0 && k == 0)
			return;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
}

/* The test's process is exiting with the guard still on: its teardown
 * will not run (in fork mode, a failed ck_assert ends the process with
 * _exit(1) at once), and Check's killpg() of the test's process group
 * misses a daemon in a session of its own. The test has failed already;
 * what is left is to leave nothing running. Not in a child of the test,
 * which inherits this hook and G. */
static void exiting(void)
{
	if (!G.on || G.self != getpid())
		return;
	int e = errno;
	clean_up();
	G.on = 0;
	prctl(PR_SET_CHILD_SUBREAPER, G.old_subreaper);
	errno = e;
}

int mpt_guard_end(char *text, size_t size)
{
	if (!G.on || G.self != getpid()) {
		if (text && size)
			text[0] = 0;
		return 0;
	}
	/* The checks a process of a test gets when it exits, for this one,
	 * whose test is over now; then what every process recorded. The
	 * descriptors not when tests share the process: what Check opens in
	 * it between tests (a file per test) would count against each of
	 * them. The locks always: Check takes none, and only here is a lock
	 * this process still holds told as held by a live process, with its
	 * call site named (the end-of-test sweep sees an owner that is not
	 * the test's and takes it for dead). */
	if (G.own && mpt__shim_active) {
		if (!G.shared)
			mpt__fd_at_exit();
		mpt__lock_at_exit();
	}
	if (G.own && G.region)
		read_records(G.region);
	pid_t pids[MAX_PIDS];
	int n = descendants(pids, MAX_PIDS);
	settle(pids, n);
	/* Zombies first, while their parents are alive to blame. */
	mpt__zombie_check(mpt__current, G.self, "at the end of the test", 0, found_zombie);
	for (int i = 0; i < n; i++)
		if (mpt__proc_state(pids[i]) != 'Z')
			mpt__zombie_check(mpt__current, pids[i], "at the end of the test", 0,
					  found_zombie);
	if (mpt__current) {
		mpt__fd_end_of_test(mpt__current, pids, n, found);
		mpt__lock_end_of_test(mpt__current, pids, n, found);
	}
	leaked(pids, n);
	clean_up();

	/* Back as it was: the shim off, the region no longer current. */
	if (G.own) {
		mpt__shim_active = 0;
		mpt__current = G.saved;
	}
	prctl(PR_SET_CHILD_SUBREAPER, G.old_subreaper);
	G.on = 0;

	int count = F.n;
	if (text && size) {
		text[0] = 0;
		if (count) {
			struct mpt__buf b = {0};
			mpt__buf_puts(&b, F.first);
			if (count > 1) {
				mpt__buf_printf(&b, " (%d findings in all:", count);
				const char *sep = " ";
				for (int k = 0; k < MPT__K_COUNT; k++)
					if (F.per_kind[k]) {
						mpt__buf_printf(&b, "%s%d %s", sep, F.per_kind[k],
								mpt__kind_name(k));
						sep = ", ";
					}
				mpt__buf_puts(&b, ")");
			}
			snprintf(text, size, "%s", b.p);
			mpt__buf_free(&b);
		}
	}
	free(F.first);
	F.first = NULL;
	F.n = 0;
	return count;
}
