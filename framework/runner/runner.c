#define _GNU_SOURCE
/* The runner's event loop: forks a leader per test into its own process
 * group and containment lane, captures its output through a pipe, reaps
 * through a signalfd, enforces timeouts, sweeps the tree when the leader
 * ends, and turns what the region and the exit status say into results. */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../include/mptest.h"
#include "../core/kinds.h"
#include "../core/procid.h"
#include "../core/region.h"
#include "../core/util.h"
#include "../inspect/endcheck.h"
#include "../inspect/symbolize.h"
#include "../inspect/watchdog.h"
#include "../inspect/zombie.h"
#include "../plan/plan.h"
#include "../report/report.h"
#include "contain.h"

#define TAIL_MAX (64 * 1024)       /* output kept per test */
#define READ_BUDGET (1 << 20)      /* bytes read from one test per wakeup */
#define KILL_GRACE_NS 10000000000LL /* a killed leader must be gone by then */

struct slot {
	int busy;
	size_t job;
	unsigned long token;
	pid_t leader;
	int reaped, status;
	int outfd;
	char *tail;                /* the last TAIL_MAX bytes, at most 2x */
	size_t tail_len, dropped;
	struct mpt__region *region;
	int64_t start, end, deadline;
	int timed_out, abandoned, interrupted;
	int regionfd;              /* the region's memfd, for exec'd programs */
	struct mpt__watch *watch;  /* the deadlock watchdog's state */
	int64_t next_sample;
	int deadlocked;
	char *dl_message, *dl_detail, *dl_dot;
	/* A resource limit ended the test: the shim recorded the finding,
	 * or the runner did (limit_message, its own count or the cgroup's). */
	int limited;
	char *limit_message;
	unsigned long long pids_events0, oom_kills0; /* the lane's, at start */
};

#define SAMPLE_NS 20000000LL      /* the watchdog looks every 20 ms */

struct run {
	const struct mpt__config *cfg;
	struct mpt__job *jobs;
	size_t n, next, done;
	struct slot *slots;
	int nslots, nbusy;
	/* One region per slot, reused test after test (reset in between): a
	 * fresh memfd mapping per test cost more than the test itself. */
	struct mpt__region **regions;
	int *regionfds;
	struct mpt__contain *contain;
	int sigfd, devnull;
	pid_t self;
	char self_exe[4096];       /* this program, for re-executed leaders */
	struct mpt__result *results; /* per job when a report file wants them all */
	int keep;                    /* --json or --junit: keep every result */
	struct mpt__result scratch;  /* otherwise: the one being finished */
	struct mpt__summary sum;
	struct mpt__human human;
	size_t tap_number;
	int graph_written;
	int interrupted;
	int internal_error;
	pid_t *tree;               /* the watchdog's process list */
	int tree_cap;
};

/* A job's name, malloc'd: jobs of API tests carry none (a name per job would
 * make the runner grow with the number of tests), it is made when needed. */
static char *job_name(const struct mpt__job *job)
{
	if (job->name || !job->test)
		return mpt__xstrdup(job->name ? job->name : "?");
	return mpt__xasprintf("%s/%s", job->test->suite, job->test->name);
}

/* ---- the leader (in the forked child) ----------------------------------- */

/* In a new leader: drop what belongs to the runner and to the other tests.
 * The other tests' regions are unmapped too: a mapping of another test's
 * region would make this tree look like that test's to the fallback
 * containment (which attributes orphans by the region they map). */
static void close_runner_fds(struct run *R, const struct slot *mine)
{
	if (R->sigfd >= 0)
		close(R->sigfd);
	for (int i = 0; i < R->nslots; i++) {
		struct slot *o = &R->slots[i];
		if (o != mine && o->busy && o->outfd >= 0)
			close(o->outfd);
		if (o == mine)
			continue;
		close(R->regionfds[i]);
		mpt__region_free(R->regions[i]);
	}
	mpt__contain_close_fds(R->contain);
}

static void leader_error(const char *what, int err)
{
	struct mpt__record *rec = mpt__record_claim(mpt__current);
	if (rec) {
		rec->kind = MPT__K_ERROR;
		rec->pid = getpid();
		snprintf(rec->process, sizeof rec->process, "p0");
		snprintf(rec->message, sizeof rec->message, "%s: %s", what,
			 strerror(err));
		mpt__record_publish(rec);
	}
	_exit(127);
}

/* --max-memory, as the leader's last step before the test: every process
 * of the test inherits the limit. Not under a tool (Valgrind), whose own
 * reservations exceed any small limit; memory.max, where the lane has
 * that controller, still applies there. The hard limit leaves the shim
 * room to symbolize the call site of the allocation that failed
 * (framework/preload/limits.c). */
#define MEMORY_HEADROOM (32ULL << 20)
static void memory_limit(struct run *R)
{
	if (!R->cfg->max_memory || R->cfg->wrap)
		return;
	struct rlimit old, lim = {(rlim_t)R->cfg->max_memory,
				  (rlim_t)(R->cfg->max_memory + MEMORY_HEADROOM)};
	if (getrlimit(RLIMIT_AS, &old) == 0 && old.rlim_max != RLIM_INFINITY) {
		if (lim.rlim_max > old.rlim_max)
			lim.rlim_max = old.rlim_max;
		if (lim.rlim_cur > old.rlim_max)
			lim.rlim_cur = old.rlim_max;
	}
	if (setrlimit(RLIMIT_AS, &lim) < 0)
		leader_error("cannot set --max-memory (setrlimit RLIMIT_AS)", errno);
}

__attribute__((noreturn))
static void leader_main(struct run *R, struct slot *s, int outw)
{
	const struct mpt__job *job = &R->jobs[s->job];
	sigset_t none;
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	mpt__contain_enter(R->contain, (int)(s - R->slots), s->token);
	/* If the runner dies, the leader goes with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != R->self)
		_exit(127);
	if (!R->cfg->inherit_stdin)
		dup2(R->devnull, 0);
	dup2(outw, 1);
	dup2(outw, 2);
	close(outw);
	close(R->devnull);
	close_runner_fds(R, s);
	close(s->outfd);

	/* Programs the test execs find the region through an inherited
	 * descriptor (kept high, out of the way) and load the shim; without
	 * the shim to load, nothing would use it, and it is not passed on. */
	int rfd = R->cfg->preload ? fcntl(s->regionfd, F_DUPFD, 900) : -1;
	close(s->regionfd); /* the close-on-exec original */
	for (char *const *e = R->cfg->extra_env; e && *e; e++)
		putenv(*e);
	if (rfd >= 0 && R->cfg->preload) {
		char v[16];
		snprintf(v, sizeof v, "%d", rfd);
		setenv("MPT_REGION_FD", v, 1);
		const char *old = getenv("LD_PRELOAD");
		const char *extra = R->cfg->extra_preload;
		char *pre = mpt__xasprintf("%s%s%s%s%s", R->cfg->preload,
					   extra ? ":" : "", extra ? extra : "",
					   old && *old ? ":" : "", old && *old ? old : "");
		setenv("LD_PRELOAD", pre, 1);
		free(pre);
	}

	mpt__current = s->region;
	s->region->leader = getpid();
	mpt__procid_leader_init();
	if (R->cfg->leader_init)
		R->cfg->leader_init();
	if (job->argv || R->cfg->reexec) {
		/* [wrapper...] PROGRAM ARGS, or [wrapper...] this test program
		 * running just this test as its leader. */
		size_t nw = 0, na = 0;
		while (R->cfg->wrap && R->cfg->wrap[nw])
			nw++;
		while (job->argv && job->argv[na])
			na++;
		char **argv = mpt__xcalloc(nw + na + 3, sizeof *argv);
		for (size_t i = 0; i < nw; i++)
			argv[i] = R->cfg->wrap[i];
		if (job->argv) {
			for (size_t i = 0; i < na; i++)
				argv[nw + i] = job->argv[i];
		} else {
			argv[nw] = R->self_exe;
			char *name = job_name(job);
			argv[nw + 1] = mpt__xasprintf("--mpt-leader=%s", name);
			free(name);
		}
		memory_limit(R);
		execvp(argv[0], argv);
		int e = errno;
		char what[256];
		snprintf(what, sizeof what, "%s", argv[0]);
		if (!job->argv)
			free(argv[nw + 1]);
		free(argv);
		leader_error(what, e);
	}
	memory_limit(R);
	job->test->fn();
	atomic_store(&s->region->body_done, 1);
	/* The leader is a fork of the runner: exit() would run the atexit
	 * handlers and destructors of the program that called mpt_main, once
	 * per test, and pay for the pages they touch. Flush the test's stdio
	 * and end through _exit, which the shim wraps for its exit checks. */
	fflush(NULL);
	_exit(0);
}

/* ---- output capture ------------------------------------------------------ */

/* Reads what the test wrote, keeping a bounded tail; never blocks. Returns
 * 0 at end of file, 1 otherwise. */
static int drain(struct slot *s, size_t budget)
{
	if (s->outfd < 0)
		return 0;
	size_t got = 0;
	if (!s->tail) {
		/* Most tests print nothing: the buffer comes with the first
		 * byte. A 128 KB malloc and free per test cost page faults in
		 * the runner, on heap pages the last fork had shared. */
		char first;
		ssize_t r;
		while ((r = read(s->outfd, &first, 1)) < 0 && errno == EINTR)
			;
		if (r == 0) {
			close(s->outfd);
			s->outfd = -1;
			return 0;
		}
		if (r < 0)
			return 1; /* EAGAIN */
		s->tail = mpt__xmalloc(2 * TAIL_MAX);
		s->tail[0] = first;
		s->tail_len = 1;
		got = 1;
	}
	while (got < budget) {
		if (s->tail_len == 2 * TAIL_MAX) {
			memmove(s->tail, s->tail + TAIL_MAX, TAIL_MAX);
			s->tail_len = TAIL_MAX;
			s->dropped += TAIL_MAX;
		}
		ssize_t r = read(s->outfd, s->tail + s->tail_len,
				 2 * TAIL_MAX - s->tail_len);
		if (r > 0) {
			s->tail_len += (size_t)r;
			got += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			close(s->outfd);
			s->outfd = -1;
			return 0;
		}
		break; /* EAGAIN */
	}
	return 1;
}

/* ---- reaping ------------------------------------------------------------- */

static void on_reap(void *arg, pid_t pid, int status)
{
	struct run *R = arg;
	for (int i = 0; i < R->nslots; i++) {
		struct slot *s = &R->slots[i];
		if (s->busy && !s->reaped && s->leader == pid) {
			s->reaped = 1;
			s->status = status;
			s->end = mpt__now_ns();
			return;
		}
	}
	/* An orphan of some test, reparented to us (we are the subreaper):
	 * its place under --max-procs is free again (the shim's wait
	 * wrappers never saw it), and nobody else will ever see how it
	 * ended, so a crash is reported here, to the test whose process
	 * table knows it. */
	for (int i = 0; i < R->nslots; i++) {
		struct slot *s = &R->slots[i];
		if (s->busy && mpt__proc_find(s->region, pid)) {
			int v = atomic_load(&s->region->live_procs);
			while (v > 1 && !atomic_compare_exchange_weak(&s->region->live_procs,
								      &v, v - 1))
				;
			break;
		}
	}
	if (!WIFSIGNALED(status) || !mpt__core_signal(WTERMSIG(status)))
		return;
	for (int i = 0; i < R->nslots; i++) {
		struct slot *s = &R->slots[i];
		struct mpt__proc *p = s->busy ? mpt__proc_find(s->region, pid) : NULL;
		struct mpt__record *rec = p ? mpt__record_claim(s->region) : NULL;
		if (!rec)
			continue;
		char sig[16];
		rec->kind = MPT__K_CRASH;
		rec->pid = pid;
		snprintf(rec->process, sizeof rec->process, "%s", p->id);
		snprintf(rec->message, sizeof rec->message,
			 "%s (pid %d, %s) died of %s; its parent never waited for "
			 "it, so nobody looked", p->id, (int)pid, p->prog,
			 mpt__signal_name(WTERMSIG(status), sig));
		snprintf(rec->detail, sizeof rec->detail,
			 "Run it under --valgrind or a debugger to see where it crashed.");
		mpt__record_publish(rec);
		return;
	}
}

static void reap_all(struct run *R)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		on_reap(R, p, st);
}

static void kill_tree_now(struct run *R, struct slot *s)
{
	kill(-s->leader, SIGKILL);
	kill(s->leader, SIGKILL);
	(void)R;
}

/* ---- resource limits (--max-procs, --max-memory) ------------------------- */

/* The shim refuses a fork at --max-procs in every program it is loaded
 * into; the runner's own count ends a test only this far past the limit,
 * which only processes the shim never saw (a static program's, a raw
 * clone's, a setuid program's) can reach. pids.max, where the lanes have
 * that controller, is set to the same: the shim's refusal comes first. */
static unsigned procs_margin(unsigned max)
{
	return max / 8 + 16;
}

static int limit_allowed(const struct run *R, const struct slot *s)
{
	return ((R->jobs[s->job].allow | R->cfg->allow) >> MPT__K_RESOURCE_LIMIT) & 1;
}

/* Whether a resource limit ended the test: its finding stands for the
 * consequences (children left behind, the leader's status). */
static int limit_ended(const struct run *R, const struct slot *s)
{
	return !limit_allowed(R, s) && (s->limited || atomic_load(&s->region->limit_hit) == 2);
}

/* A limit the runner found itself (the shim's findings are in the
 * region already). */
static void runner_limit(struct slot *s, char *message)
{
	s->limited = 1;
	if (!s->limit_message)
		s->limit_message = message;
	else
		free(message);
}

/* The lane's cgroup counters (pids.max, memory.max where in force). */
static void cgroup_limits(struct run *R, struct slot *s)
{
	unsigned long long forks, ooms;
	mpt__contain_limit_events(R->contain, (int)(s - R->slots), &forks, &ooms);
	char size[32];
	if (ooms > s->oom_kills0) {
		mpt__size_text(R->cfg->max_memory, size, sizeof size);
		runner_limit(s, mpt__xasprintf(
			"the OOM killer ended %llu process%s of the test: it reached "
			"--max-memory=%s (memory.max of its cgroup)", ooms - s->oom_kills0,
			ooms - s->oom_kills0 == 1 ? "" : "es", size));
	} else if (forks > s->pids_events0) {
		unsigned max = R->cfg->max_procs;
		runner_limit(s, mpt__xasprintf(
			"fork() failed in the kernel: the test reached pids.max=%u of its "
			"cgroup (--max-procs=%u, plus room for processes the shim cannot "
			"count; threads count there too)", max + procs_margin(max), max));
	}
}

/* At each watchdog sample: ends the test when it reached a limit. n
 * processes were found in its tree (at most R->tree_cap). */
static int check_limits(struct run *R, struct slot *s, int n)
{
	if (limit_allowed(R, s))
		return 0;
	unsigned max = R->cfg->max_procs;
	/* 2: the shim's finding is published (1: being written). */
	if (atomic_load(&s->region->limit_hit) != 2) {
		if (max && (unsigned)n > max + procs_margin(max))
			runner_limit(s, mpt__xasprintf(
				"the test had %s%d live processes, past --max-procs=%u (and the "
				"runner's margin of %u): they were started where the shim's fork() "
				"wrappers do not see (a static program, a raw clone system call)",
				n >= R->tree_cap ? "at least " : "", n, max, procs_margin(max)));
		else
			cgroup_limits(R, s);
		if (!s->limited)
			return 0;
	}
	/* Killed like a timeout, reported as the limit. */
	s->limited = 1;
	s->timed_out = 1;
	s->deadline = mpt__now_ns();
	kill_tree_now(R, s);
	mpt__contain_kill(R->contain, (int)(s - R->slots), s->token, s->leader, on_reap, R);
	return 1;
}

/* ---- results ------------------------------------------------------------- */

/* The records processes of the test wrote; allow: the kinds the test does
 * not report. */
static void add_region_records(struct mpt__result *r, struct mpt__region *g,
			       unsigned allow)
{
	unsigned n = atomic_load(&g->nrecords);
	if (n > MPT__MAX_RECORDS)
		n = MPT__MAX_RECORDS;
	for (unsigned i = 0; i < n; i++) {
		struct mpt__record *rec = &g->records[i];
		if (!atomic_load_explicit(&rec->ready, memory_order_acquire))
			continue; /* its writer died half-way */
		rec->message[sizeof rec->message - 1] = 0;
		rec->process[sizeof rec->process - 1] = 0;
		rec->file[sizeof rec->file - 1] = 0;
		if (rec->kind == MPT__K_SKIP) {
			if (!r->reason)
				r->reason = mpt__xstrdup(rec->message);
			continue;
		}
		if (rec->kind == MPT__K_ERROR) {
			free(r->reason);
			r->reason = mpt__xstrdup(rec->message);
			r->status = MPT__ERROR;
			continue;
		}
		if (!mpt__kind_name(rec->kind))
			continue;
		char *msg = rec->file[0]
			? mpt__xasprintf("%s:%d: %s", rec->file, rec->line, rec->message)
			: mpt__xstrdup(rec->message);
		rec->detail[sizeof rec->detail - 1] = 0;
		mpt__result_add(r, rec->kind, rec->pid, rec->process[0] ? rec->process : NULL,
				msg, rec->detail[0] ? rec->detail : NULL);
		free(msg);
	}
	unsigned claimed = atomic_load(&g->nrecords);
	if (claimed <= MPT__MAX_RECORDS)
		return;
	/* The records past the region's table were never written: their kinds
	 * and processes are unknown, and the test did nothing wrong by making
	 * them, so this is no finding of its own. It is said where every
	 * report shows it: in the detail of the first finding reported (the
	 * human report shows that one's detail), else in the reason. */
	char *note = mpt__xasprintf(
		"This report is incomplete: the test wrote %u records to the session "
		"region, which holds %d, and the last %u were dropped (findings of any "
		"kind may be among them). Fix what is reported and run it again to see "
		"the rest.", claimed, MPT__MAX_RECORDS, claimed - MPT__MAX_RECORDS);
	for (struct mpt__finding *f = r->findings; f; f = f->next) {
		if (f->kind < MPT__K_COUNT && ((allow >> f->kind) & 1))
			continue; /* dropped from the report later */
		char *d = f->detail ? mpt__xasprintf("%s\n%s", f->detail, note) : note;
		if (d != note)
			free(note);
		free(f->detail);
		f->detail = d;
		return;
	}
	if (r->reason) {
		char *reason = mpt__xasprintf("%s; %s", r->reason, note);
		free(note);
		free(r->reason);
		r->reason = reason;
	} else {
		r->reason = note;
	}
}

static int has_kind_from(const struct mpt__result *r, int kind, pid_t pid)
{
	for (const struct mpt__finding *f = r->findings; f; f = f->next)
		if (f->kind == kind && (!pid || f->pid == pid))
			return 1;
	return 0;
}

static struct mpt__result *zombie_target MPT__HOT;

static void zombie_to_result(int kind, pid_t pid, const char *id,
			     const char *message, const char *detail)
{
	mpt__result_add(zombie_target, kind, pid, id, message, detail);
}

/* mpt__write_atomic's writer for a ready-made text (the --graph DOT). */
static int write_text(FILE *f, void *text)
{
	return fputs(text, f) < 0 ? -1 : 0;
}

/* "Started by p0 (pid 12) at main (t.c:9). " for a leaked process, or ""
 * when the table does not know it. The fork's return address is one in
 * the parent: it is read in the leaked process itself while that still
 * runs its parent's program (a fork without exec), else in the parent
 * while that lives. */
static void leaked_where(struct mpt__region *g, const struct mpt__proc *e,
			 char *buf, size_t size)
{
	buf[0] = 0;
	if (!e || !e->ppid)
		return;
	const struct mpt__proc *parent = mpt__proc_find(g, e->ppid);
	char site[200] = "";
	if (e->fork_site) {
		if (parent && !strncmp(parent->prog, e->prog, sizeof e->prog))
			mpt__symbolize(e->pid, e->fork_site, site, sizeof site);
		if (!site[0] && kill(e->ppid, 0) == 0 && !mpt__proc_dying(e->ppid))
			mpt__symbolize(e->ppid, e->fork_site, site, sizeof site);
	}
	snprintf(buf, size, "Started by %s (pid %d)%s%s. ",
		 parent ? parent->id : "a process", (int)e->ppid, site[0] ? " at " : "", site);
}

static void add_leaked(struct run *R, struct slot *s, struct mpt__result *r)
{
	pid_t pids[256];
	int n = mpt__contain_list(R->contain, (int)(s - R->slots), s->token,
				  s->leader, pids, 256);
	/* A test stopped by a timeout, a deadlock or a resource limit left
	 * its processes where they stood: those are not leaks of their own. */
	int ended = s->timed_out || limit_ended(R, s);
	/* Zombies first, while their parents are still alive to blame. */
	zombie_target = r;
	for (int i = 0; i < n && !ended; i++)
		mpt__zombie_check(s->region, pids[i], "at the end of the test", 0,
				  zombie_to_result);
	/* A descriptor carried into a program that never used it often
	 * explains a hang, so it is reported after a timeout or deadlock too;
	 * locks still held when the harness killed a stuck tree are part of
	 * the deadlock report, not leaks of their own. */
	mpt__fd_end_of_test(s->region, pids, n, zombie_to_result);
	if (!ended)
		mpt__lock_end_of_test(s->region, pids, n, zombie_to_result);
	for (int i = 0; i < n && !ended; i++) {
		if (mpt__proc_dying(pids[i]))
			continue; /* killed along with its test (kill(0, ...)) */
		/* The table's program name: under a tool, /proc's comm names
		 * the tool (memcheck-amd64-), not the program. */
		char comm[64];
		struct mpt__proc *e = mpt__proc_find(s->region, pids[i]);
		if (e && e->prog[0])
			snprintf(comm, sizeof comm, "%s", e->prog);
		else
			mpt__proc_comm(pids[i], comm, sizeof comm);
		const char *id = e ? e->id : NULL;
		char where[400];
		leaked_where(s->region, e, where, sizeof where);
		char *msg = id ? mpt__xasprintf("%s (pid %d, %s) was still running when the "
						"test ended; the harness killed it",
						id, (int)pids[i], comm)
			       : mpt__xasprintf("process %d (%s) was still running when the "
						"test ended; the harness killed it",
						(int)pids[i], comm);
		char *detail = mpt__xasprintf(
			"%sEvery process a test starts must be waited for (waitpid) before "
			"the test ends; stop and reap daemons and workers in the test's "
			"cleanup.", where);
		mpt__result_add(r, MPT__K_LEAKED_PROCESS, pids[i], id, msg, detail);
		free(msg);
		free(detail);
	}
	if (n > 0 || !mpt__contain_uses_cgroup(R->contain) || ended)
		mpt__contain_kill(R->contain, (int)(s - R->slots), s->token,
				  s->leader, on_reap, R);
}

/* A quiet moment (the test s ends and no other runs): processes that are
 * still children of the runner came from a test, though nothing marks
 * which (started without the shim, with an empty environment: a static
 * program, a daemon). With one lane the containment claimed them for
 * their test already; with several they are reported here, on the test
 * that ended, as a leak of this test or of one that ran beside it, and
 * killed. Under cgroup v2 no process can leave its lane unnoticed. */
static void quiet_sweep(struct run *R, struct slot *s, struct mpt__result *r)
{
	if (R->nslots == 1 || mpt__contain_uses_cgroup(R->contain))
		return;
	pid_t pids[256];
	int n = mpt__contain_strays(R->contain, pids, 256);
	if (n == 0)
		return;
	int ended = s->timed_out || limit_ended(R, s);
	for (int i = 0; i < n && !ended; i++) {
		if (mpt__proc_dying(pids[i]))
			continue;
		char comm[64];
		mpt__proc_comm(pids[i], comm, sizeof comm);
		char *msg = mpt__xasprintf("process %d (%s) was still running when the test "
					   "ended; the harness killed it", (int)pids[i], comm);
		mpt__result_add(r, MPT__K_LEAKED_PROCESS, pids[i], NULL, msg,
				"It carries no mark of its test (it was started without the "
				"shim and without the environment, as a static program or a "
				"daemon with an empty environment is): this test or one that "
				"ran beside it started it. Run with -j1 to know which. Every "
				"process a test starts must be waited for before the test ends.");
		free(msg);
	}
	mpt__contain_kill(R->contain, -1, 0, 0, on_reap, R);
}

/* Findings of allowed kinds are dropped. */
static void apply_allow(struct mpt__result *r, unsigned allow)
{
	struct mpt__finding **p = &r->findings;
	while (*p) {
		struct mpt__finding *f = *p;
		if (f->kind < MPT__K_COUNT && (allow & (1u << f->kind))) {
			*p = f->next;
			free(f->process);
			free(f->message);
			free(f->detail);
			free(f);
		} else {
			p = &f->next;
		}
	}
}

static void verdict(struct run *R, struct slot *s, struct mpt__result *r)
{
	const struct mpt__job *job = &R->jobs[s->job];
	int st = s->status;
	char sig[16];
	if (s->deadlocked) {
		mpt__result_add(r, MPT__K_DEADLOCK, s->leader, "p0", s->dl_message,
				s->dl_detail);
	} else if (limit_ended(R, s)) {
		/* The leader's status (killed, or a failure exit after a
		 * refused fork) follows from the limit. */
		if (!s->limit_message && !has_kind_from(r, MPT__K_RESOURCE_LIMIT, 0))
			s->limit_message = mpt__xstrdup(
				"the test reached --max-procs or --max-memory; the record of "
				"which did not fit in the session region");
		if (s->limit_message)
			mpt__result_add(r, MPT__K_RESOURCE_LIMIT, s->leader, "p0",
					s->limit_message,
					"Every process of a test counts until it is reaped, zombies "
					"included. Reap children as they end and bound the number of "
					"workers and the memory the test uses; raise --max-procs or "
					"--max-memory if it needs that much (0: no limit).");
	} else if (s->timed_out) {
		char *msg = mpt__xasprintf(
			"the test ran past its %.3g s timeout; its process tree was killed",
			(double)job->timeout_ns / 1e9);
		mpt__result_add(r, MPT__K_TIMEOUT, s->leader, "p0", msg,
				"Raise .timeout_ms or --timeout if the test is just slow; "
				"otherwise look for a wait that never ends.");
		free(msg);
	} else if (s->interrupted) {
		r->status = MPT__ERROR;
		r->reason = mpt__xasprintf("interrupted by %s; the tree was killed",
					   mpt__signal_name(s->interrupted, sig));
	} else if (s->abandoned) {
		r->status = MPT__ERROR;
		r->reason = mpt__xstrdup("the test leader could not be killed");
	} else if (WIFSIGNALED(st)) {
		char *msg = mpt__xasprintf("the test leader was killed by %s%s",
					   mpt__signal_name(WTERMSIG(st), sig),
					   WCOREDUMP(st) ? " (core dumped)" : "");
		mpt__result_add(r, MPT__K_CRASH, s->leader, "p0", msg,
				"Run it under a debugger or --valgrind to see where.");
		free(msg);
	} else if (WIFEXITED(st) && WEXITSTATUS(st) != 0 && r->status != MPT__ERROR &&
		   !has_kind_from(r, MPT__K_ASSERTION, s->leader)) {
		char *msg = mpt__xasprintf("%s exited with status %d",
					   job->argv ? job->argv[0] : "the test leader",
					   WEXITSTATUS(st));
		mpt__result_add(r, MPT__K_EXIT_STATUS, s->leader, "p0", msg,
				job->argv
				? "A non-zero exit status is the program's own report of a "
				  "failure: its output above says why. If the status is "
				  "expected, run with --allow=exit-status."
				: "A test body ends by returning, or by exit(0); to fail, "
				  "use an MPT_ASSERT macro, which says where and why.");
		free(msg);
	}
	apply_allow(r, job->allow | R->cfg->allow);
	if (r->status == MPT__ERROR)
		return;
	if (r->findings)
		r->status = MPT__FAIL;
	else if (r->reason && !(WIFEXITED(st) && atomic_load(&s->region->body_done)))
		r->status = MPT__SKIP;
	else
		r->status = MPT__PASS;
}

/* Where job j's result goes: its place in R->results when the reports need
 * every result, else a scratch result, dropped once its line is printed
 * (the human and TAP reports print as they go), so the runner's memory
 * does not grow with the number of tests. */
static struct mpt__result *result_for(struct run *R, size_t j)
{
	return R->keep ? &R->results[j] : &R->scratch;
}

static void done_with(struct run *R, struct mpt__result *r)
{
	if (!R->keep)
		mpt__result_clear(r);
}

static void finish(struct run *R, struct slot *s)
{
	const struct mpt__job *job = &R->jobs[s->job];
	struct mpt__result *r = result_for(R, s->job);
	r->name = job_name(job);
	r->seed = R->cfg->seed;
	r->duration_ms = (double)(s->end - s->start) / 1e6;
	add_region_records(r, s->region, job->allow | R->cfg->allow);
	mpt__plan_collect(r, s->region);
	if (!s->limited && atomic_load(&s->region->limit_hit) != 2 && !limit_allowed(R, s))
		cgroup_limits(R, s);
	add_leaked(R, s, r);
	if (R->nbusy == 1)
		quiet_sweep(R, s, r);
	if (R->cfg->after_test)
		R->cfg->after_test(R->cfg->after_test_arg, s->region, s->leader,
				   s->start, r);
	/* Every writer is dead now: this reads to end of file (or to EAGAIN if
	 * a process the sweep could not find still holds the pipe). */
	drain(s, SIZE_MAX);
	if (s->outfd >= 0)
		close(s->outfd);
	verdict(R, s, r);
	if (s->tail_len) {
		r->output = s->tail;
		r->output_len = s->tail_len;
		r->output_dropped = s->dropped;
		s->tail = NULL;
	}
	free(s->tail);
	mpt__watch_free(s->watch);
	if (s->dl_dot && R->cfg->graph && !R->graph_written) {
		if (mpt__write_atomic(R->cfg->graph, write_text, s->dl_dot) == 0)
			R->graph_written = 1;
		else
			fprintf(stderr, "%s: --graph=%s — cannot write it: %s\n",
				R->cfg->prog, R->cfg->graph, strerror(errno));
	}
	free(s->dl_message);
	free(s->dl_detail);
	free(s->dl_dot);
	free(s->limit_message);
	mpt__contain_set_leader(R->contain, (int)(s - R->slots), 0);
	*s = (struct slot){.outfd = -1};
	R->nbusy--;
	R->done++;

	switch (r->status) {
	case MPT__PASS: R->sum.passed++; break;
	case MPT__FAIL: R->sum.failed++; break;
	case MPT__SKIP: R->sum.skipped++; break;
	default: R->sum.errors++;
	}
	if (R->cfg->tap)
		mpt__tap_result(stdout, ++R->tap_number, r);
	else
		mpt__human_result(&R->human, r);
	/* Output is kept only where a report shows it: failures. */
	if (r->status == MPT__PASS || r->status == MPT__SKIP)
		mpt__result_free_output(r);
	done_with(R, r);
}

static void finish_skipped(struct run *R, size_t j)
{
	struct mpt__result *r = result_for(R, j);
	r->name = job_name(&R->jobs[j]);
	r->seed = R->cfg->seed;
	r->status = MPT__SKIP;
	r->reason = mpt__xstrdup("disabled (.skip)");
	R->sum.skipped++;
	R->done++;
	if (R->cfg->tap)
		mpt__tap_result(stdout, ++R->tap_number, r);
	else
		mpt__human_result(&R->human, r);
	done_with(R, r);
}

static void finish_error(struct run *R, size_t j, const char *what, int err)
{
	struct mpt__result *r = result_for(R, j);
	r->name = job_name(&R->jobs[j]);
	r->seed = R->cfg->seed;
	r->status = MPT__ERROR;
	r->reason = mpt__xasprintf("%s: %s", what, strerror(err));
	R->sum.errors++;
	R->done++;
	R->internal_error = 1;
	if (R->cfg->tap)
		mpt__tap_result(stdout, ++R->tap_number, r);
	else
		mpt__human_result(&R->human, r);
	done_with(R, r);
}

/* ---- starting a test ----------------------------------------------------- */

static void start(struct run *R, size_t j)
{
	const struct mpt__job *job = &R->jobs[j];
	if (job->skip) {
		finish_skipped(R, j);
		return;
	}
	struct slot *s = NULL;
	for (int i = 0; i < R->nslots; i++)
		if (!R->slots[i].busy) {
			s = &R->slots[i];
			break;
		}
	int k = (int)(s - R->slots);
	/* The token names the slot's region (its memfd), which is how the
	 * fallback containment attributes orphans: one per slot. */
	*s = (struct slot){.outfd = -1, .job = j, .token = (unsigned long)k + 1,
			   .region = R->regions[k], .regionfd = R->regionfds[k]};
	mpt__region_reset(s->region);
	mpt__plan_load(s->region, R->cfg->inject, R->cfg->seed);
	s->region->max_procs = R->cfg->max_procs;
	s->region->max_memory = R->cfg->max_memory;
	s->region->allow = job->allow | R->cfg->allow;
	atomic_store(&s->region->live_procs, 1); /* the leader */
	atomic_store(&s->region->limit_hit, 0);
	mpt__contain_limit_events(R->contain, k, &s->pids_events0, &s->oom_kills0);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		int e = errno;
		finish_error(R, j, "cannot create the output pipe", e);
		return;
	}
	/* A large pipe means fewer wakeups for chatty tests; optional. */
	fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	s->outfd = p[0];
	s->busy = 1;
	s->start = mpt__now_ns();
	s->deadline = s->start + job->timeout_ns;
	s->watch = mpt__watch_new();
	s->next_sample = s->start + SAMPLE_NS;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		*s = (struct slot){.outfd = -1};
		finish_error(R, j, "cannot fork the test leader", e);
		return;
	}
	if (pid == 0)
		leader_main(R, s, p[1]);
	close(p[1]);
	setpgid(pid, pid); /* both sides, so neither races the other */
	s->leader = pid;
	mpt__contain_set_leader(R->contain, (int)(s - R->slots), pid);
	R->nbusy++;
}

/* ---- the loop ------------------------------------------------------------ */

static void on_signals(struct run *R)
{
	struct signalfd_siginfo si;
	while (read(R->sigfd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo != SIGCHLD && !R->interrupted)
			R->interrupted = (int)si.ssi_signo;
	}
	reap_all(R);
}

static int poll_timeout_ms(struct run *R)
{
	int64_t now = mpt__now_ns(), best = -1;
	for (int i = 0; i < R->nslots; i++) {
		struct slot *s = &R->slots[i];
		if (!s->busy || s->reaped)
			continue;
		int64_t d = s->timed_out ? s->deadline + KILL_GRACE_NS : s->deadline;
		if (!s->timed_out && !s->interrupted && s->watch && s->next_sample < d)
			d = s->next_sample;
		int64_t left = d > now ? d - now : 0;
		if (best < 0 || left < best)
			best = left;
	}
	if (best < 0)
		return -1;
	int64_t ms = (best + 999999) / 1000000;
	return ms > 60000 ? 60000 : (int)ms;
}

static void check_deadlines(struct run *R)
{
	int64_t now = mpt__now_ns();
	for (int i = 0; i < R->nslots; i++) {
		struct slot *s = &R->slots[i];
		if (!s->busy || s->reaped)
			continue;
		if (!s->timed_out && !s->interrupted && !R->interrupted && s->watch &&
		    now >= s->next_sample && now < s->deadline) {
			s->next_sample = now + SAMPLE_NS;
			pid_t *pids = R->tree;
			int n = mpt__contain_tree(R->contain, i, s->token, s->leader, pids,
						  R->tree_cap);
			if (check_limits(R, s, n))
				continue;
			if (n > 512)
				n = 512; /* what the watchdog looks at */
			if (mpt__watch_sample(s->watch, s->region, pids, n, now, &s->dl_message,
					      &s->dl_detail, &s->dl_dot)) {
				/* Killed like a timeout, reported as the deadlock. */
				s->deadlocked = 1;
				s->timed_out = 1;
				s->deadline = now;
				kill_tree_now(R, s);
				mpt__contain_kill(R->contain, i, s->token, s->leader,
						  on_reap, R);
			}
			continue;
		}
		if (!s->timed_out && !s->interrupted &&
		    (now >= s->deadline || R->interrupted)) {
			s->timed_out = !R->interrupted;
			s->interrupted = R->interrupted;
			if (R->interrupted)
				s->deadline = now; /* grace counts from now */
			kill_tree_now(R, s);
			mpt__contain_kill(R->contain, i, s->token, s->leader,
					  on_reap, R);
		} else if (now >= s->deadline + KILL_GRACE_NS) {
			/* Unkillable (stuck in the kernel): give up on it so
			 * the run still ends. */
			s->abandoned = 1;
			s->reaped = 1;
			s->end = now;
		}
	}
}

static void loop(struct run *R)
{
	struct pollfd *pfd = mpt__xcalloc((size_t)R->nslots + 1, sizeof *pfd);
	int *which = mpt__xcalloc((size_t)R->nslots + 1, sizeof *which);
	while (R->next < R->n || R->nbusy > 0) {
		for (int i = 0; i < R->nslots; i++)
			if (R->slots[i].busy && R->slots[i].reaped)
				finish(R, &R->slots[i]);
		while (!R->interrupted && R->nbusy < R->nslots && R->next < R->n)
			start(R, R->next++);
		if (R->interrupted && R->nbusy == 0) {
			char sig[16];
			for (; R->next < R->n; R->next++) {
				struct mpt__result *r = result_for(R, R->next);
				r->name = job_name(&R->jobs[R->next]);
				r->status = MPT__ERROR;
				r->reason = mpt__xasprintf("not run: interrupted by %s",
							   mpt__signal_name(R->interrupted, sig));
				R->sum.errors++;
				done_with(R, r);
			}
		}
		if (R->nbusy == 0)
			continue;
		int n = 0;
		pfd[n++] = (struct pollfd){.fd = R->sigfd, .events = POLLIN};
		/* Only the pipes of tests that have written something are
		 * polled: the end of file of a silent test's pipe would wake
		 * the runner once more just before its SIGCHLD (two context
		 * switches per test instead of one). Silent pipes are read at
		 * every wake-up below, at least every SAMPLE_NS. */
		for (int i = 0; i < R->nslots; i++)
			if (R->slots[i].busy && R->slots[i].outfd >= 0 && R->slots[i].tail) {
				which[n] = i;
				pfd[n++] = (struct pollfd){.fd = R->slots[i].outfd,
							   .events = POLLIN};
			}
		if (R->human.tty && !R->cfg->tap) {
			char *name = NULL;
			for (int i = 0; i < R->nslots && !name; i++)
				if (R->slots[i].busy)
					name = job_name(&R->jobs[R->slots[i].job]);
			mpt__human_progress(&R->human, R->done, R->n,
					    (size_t)R->nbusy, name);
			free(name);
		}
		int r = poll(pfd, (nfds_t)n, poll_timeout_ms(R));
		if (r < 0 && errno != EINTR)
			break;
		for (int k = 1; k < n; k++)
			if (pfd[k].revents)
				drain(&R->slots[which[k]], READ_BUDGET);
		for (int i = 0; i < R->nslots; i++)
			if (R->slots[i].busy && R->slots[i].outfd >= 0 && !R->slots[i].tail)
				drain(&R->slots[i], READ_BUDGET);
		if (pfd[0].revents)
			on_signals(R);
		check_deadlines(R);
	}
	free(pfd);
	free(which);
}

static int write_reports(struct run *R)
{
	struct mpt__report_set set = {R->results, R->n, R->sum,
				      R->cfg->suite_name};
	int rc = 0;
	if (R->cfg->json && mpt__write_atomic(R->cfg->json, mpt__report_json, &set) < 0) {
		fprintf(stderr, "%s: --json=%s — cannot write the report: %s\n",
			R->cfg->prog, R->cfg->json, strerror(errno));
		rc = -1;
	}
	if (R->cfg->junit && mpt__write_atomic(R->cfg->junit, mpt__report_junit, &set) < 0) {
		fprintf(stderr, "%s: --junit=%s — cannot write the report: %s\n",
			R->cfg->prog, R->cfg->junit, strerror(errno));
		rc = -1;
	}
	return rc;
}

int mpt__run(const struct mpt__config *cfg, struct mpt__job *jobs, size_t n)
{
	struct run R = {.cfg = cfg, .jobs = jobs, .n = n, .sigfd = -1};
	R.self = getpid();
	/* A closed standard descriptor would be taken by the next open (the
	 * signalfd, a region) and the report written into that: it gets
	 * /dev/null, read-only, so that a report to a closed stdout fails as
	 * a report to a full disk does. */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int d = open("/dev/null", O_RDONLY);
			if (d >= 0 && d != fd) {
				dup2(d, fd);
				close(d);
			}
		}
	ssize_t len = readlink("/proc/self/exe", R.self_exe, sizeof R.self_exe - 1);
	R.self_exe[len > 0 ? len : 0] = 0;
	R.nslots = cfg->jobs > 0 ? cfg->jobs : 1;
	if ((size_t)R.nslots > n && n > 0)
		R.nslots = (int)n;
	R.slots = mpt__xcalloc((size_t)R.nslots, sizeof *R.slots);
	for (int i = 0; i < R.nslots; i++)
		R.slots[i].outfd = -1;
	/* --graph=FILE is written only when a deadlock is found: a graph
	 * left from an earlier run must not pass for this run's. Only a
	 * regular file is removed (never /dev/stdout or a FIFO). */
	struct stat gst;
	if (cfg->graph && lstat(cfg->graph, &gst) == 0 && S_ISREG(gst.st_mode) &&
	    unlink(cfg->graph) < 0 && errno != ENOENT)
		fprintf(stderr, "%s: --graph=%s — cannot remove the old graph: %s\n", cfg->prog,
			cfg->graph, strerror(errno));
	R.keep = cfg->json || cfg->junit;
	if (R.keep)
		R.results = mpt__xcalloc(n ? n : 1, sizeof *R.results);
	R.human = (struct mpt__human){.f = stdout, .tty = isatty(1) && !cfg->quiet,
				      .verbose = cfg->verbose, .quiet = cfg->quiet};

	int old_subreaper = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &old_subreaper);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigset_t set, oldset;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &oldset);
	struct sigaction ign = {.sa_handler = SIG_IGN}, oldpipe;
	sigaction(SIGPIPE, &ign, &oldpipe);
	R.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	R.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (R.sigfd < 0 || R.devnull < 0) {
		fprintf(stderr, "%s: cannot set up the runner — %s\n", cfg->prog,
			strerror(errno));
		return cfg->exit_internal;
	}
	R.contain = mpt__contain_new(R.nslots, cfg->no_cgroup);
	R.regions = mpt__xcalloc((size_t)R.nslots, sizeof *R.regions);
	R.regionfds = mpt__xcalloc((size_t)R.nslots, sizeof *R.regionfds);
	for (int i = 0; i < R.nslots; i++) {
		R.regions[i] = mpt__region_new((unsigned long)i + 1, &R.regionfds[i]);
		if (!R.regions[i]) {
			fprintf(stderr, "%s: cannot create the session region — %s\n",
				cfg->prog, strerror(errno));
			return cfg->exit_internal;
		}
	}
	int in_cgroup = mpt__contain_set_limits(
		R.contain, cfg->max_procs ? cfg->max_procs + procs_margin(cfg->max_procs) : 0,
		cfg->max_memory);
	R.tree_cap = 512;
	if (cfg->max_procs && cfg->max_procs + procs_margin(cfg->max_procs) + 1 > 512)
		R.tree_cap = (int)(cfg->max_procs + procs_margin(cfg->max_procs) + 1);
	R.tree = mpt__xcalloc((size_t)R.tree_cap, sizeof *R.tree);
	if (getenv("MPT_DEBUG"))
		fprintf(stderr, "%s: containment: %s; limits in the cgroup:%s%s%s\n", cfg->prog,
			mpt__contain_uses_cgroup(R.contain) ? "cgroup v2" : "subreaper",
			in_cgroup & MPT__CONTAIN_PIDS ? " pids.max" : "",
			in_cgroup & MPT__CONTAIN_MEMORY ? " memory.max" : "",
			in_cgroup ? "" : " none");

	if (cfg->tap)
		mpt__tap_plan(stdout, n);
	loop(&R);
	reap_all(&R);
	/* Nothing a test started outlives the run. */
	pid_t strays[64];
	int nstrays = mpt__contain_strays(R.contain, strays, 64);
	if (nstrays > 0) {
		mpt__contain_kill(R.contain, -1, 0, 0, on_reap, &R);
		if (!R.interrupted)
			fprintf(stderr, "%s: %d process%s that the tests left running (first: "
				"pid %d) killed at the end of the run\n", cfg->prog, nstrays,
				nstrays == 1 ? "" : "es", (int)strays[0]);
	}
	if (!cfg->tap) {
		mpt__human_summary(&R.human, &R.sum);
	} else {
		/* Tests an interruption kept from running have no line: the
		 * plan is not met, and a TAP consumer is told why. */
		char sig[16];
		if (R.interrupted && R.tap_number < n)
			printf("Bail out! interrupted by %s; %zu of %zu tests not run\n",
			       mpt__signal_name(R.interrupted, sig), n - R.tap_number, n);
		printf("# %zu passed, %zu failed", R.sum.passed, R.sum.failed + R.sum.errors);
		if (R.sum.skipped)
			printf(", %zu skipped", R.sum.skipped);
		putchar('\n');
	}
	/* The report on stdout is the run's result, as a file's is. */
	int out_err = fflush(stdout) != 0 ? errno : 0;
	if (!out_err && ferror(stdout) && (fcntl(1, F_GETFL) & O_ACCMODE) == O_RDONLY)
		out_err = EBADF; /* it was closed: the /dev/null above */
	if (out_err || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write the %s report to standard output%s%s\n",
			cfg->prog, cfg->tap ? "TAP" : "test", out_err ? ": " : "",
			out_err ? strerror(out_err) : "");
		R.internal_error = 1;
	}
	int rep = write_reports(&R);

	mpt__contain_free(R.contain);
	for (int i = 0; i < R.nslots; i++) {
		mpt__region_free(R.regions[i]);
		close(R.regionfds[i]);
	}
	free(R.regions);
	free(R.regionfds);
	free(R.tree);
	close(R.sigfd);
	close(R.devnull);
	sigaction(SIGPIPE, &oldpipe, NULL);
	sigprocmask(SIG_SETMASK, &oldset, NULL);
	prctl(PR_SET_CHILD_SUBREAPER, old_subreaper);
	for (size_t i = 0; R.keep && i < n; i++)
		mpt__result_clear(&R.results[i]);
	free(R.results);
	free(R.slots);

	if (R.interrupted) {
		fprintf(stderr, "%s: interrupted by %s; running tests were killed\n",
			cfg->prog, strsignal(R.interrupted));
		return 1;
	}
	if (R.internal_error || rep < 0)
		return cfg->exit_internal;
	if (R.sum.errors)
		return cfg->exit_error;
	return R.sum.failed ? 1 : 0;
}
