/* Process lifecycle wrappers: fork, posix_spawn, the exec family, the wait
 * family, exit. They keep the region's process table (who started whom,
 * from where; who reaped whom, and how each ended) and run the per-process
 * checks at exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/kinds.h"
#include "../core/procid.h"
#include "../core/util.h"
#include "inject.h"
#include "limits.h"
#include "shim.h"

/* Wrappers count their calls (mpt__calls). */
#define REAL MPT__REAL_COUNTED
#define REAL_UNCOUNTED MPT__REAL

/* ---- fork ---------------------------------------------------------------- */

/* fd.c: in the runner, what is open before it forks a test leader. */
void mpt__fd_runner_snapshot(void);

MPT__EXPORT pid_t fork(void)
{
	REAL(pid_t, fork, (void));
	if (!mpt__shim_on()) {
#ifndef MPT_PRELOAD
		mpt__fd_runner_snapshot(); /* a test leader's baseline (fd.c) */
#endif
		return real_fork();
	}
	MPT__INJECT_FAIL(MPT__CALL_FORK, -1);
	if (mpt__limit_fork_begin("fork()", (uintptr_t)__builtin_return_address(0)) < 0)
		return -1;
	mpt__fork_site = (uintptr_t)__builtin_return_address(0);
	mpt__stdio_fork_prepare();
	mpt__threads_fork_prepare();
	pid_t p = real_fork();
	int e = errno;
	if (p == 0) {
		mpt__last_child = 0;
		mpt__inject_fork_child();
		mpt__stdio_fork_child();
		mpt__threads_fork_child();
	} else {
		mpt__limit_fork_end(p > 0);
		mpt__procid_forked(p);
		mpt__stdio_fork_parent();
		if (p > 0)
			mpt__note_child(p);
	}
	mpt__fork_site = 0;
	errno = e;
	return p;
}

/* vfork's child shares the parent's memory, so no bookkeeping can run in
 * it; a real fork gives the same semantics to a correct program. */
MPT__EXPORT pid_t vfork(void)
{
	return fork();
}

/* clone() without CLONE_THREAD makes a process, which counts against
 * --max-procs like any other (threads do not). Its child runs fn and never
 * returns here, so no other bookkeeping applies. The optional arguments
 * are passed on as glibc's clone reads them: always, from registers. */
MPT__EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	REAL(int, clone, (int (*)(void *), void *, int, void *, ...));
	va_list ap;
	va_start(ap, arg);
	pid_t *ptid = va_arg(ap, pid_t *);
	void *tls = va_arg(ap, void *);
	pid_t *ctid = va_arg(ap, pid_t *);
	va_end(ap);
	int counted = mpt__shim_on() && !(flags & CLONE_THREAD);
	if (counted && mpt__limit_fork_begin("clone()", (uintptr_t)__builtin_return_address(0)) < 0)
		return -1;
	int r = real_clone(fn, stack, flags, arg, ptid, tls, ctid);
	if (counted) {
		int e = errno;
		mpt__limit_fork_end(r > 0);
		errno = e;
	}
	return r;
}

static int spawn_common(int use_path, pid_t *pid, const char *path,
			const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[],
			char *const envp[], uintptr_t site);

MPT__EXPORT int posix_spawn(pid_t *pid, const char *path,
			    const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[],
			    char *const envp[])
{
	return spawn_common(0, pid, path, fa, attr, argv, envp,
			    (uintptr_t)__builtin_return_address(0));
}

MPT__EXPORT int posix_spawnp(pid_t *pid, const char *file,
			     const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[],
			     char *const envp[])
{
	return spawn_common(1, pid, file, fa, attr, argv, envp,
			    (uintptr_t)__builtin_return_address(0));
}

/* ---- exec: the region and the shim must survive custom environments ---- */

/* threads.c: an unsafe call made in a child forked from threads, pending
 * until a safe point, is reported before the image it was made in goes. */
void mpt__threads_before_exec(void);

#define ENV_MAX 4096
static char *env_copy[ENV_MAX];
static char env_preload[4096], env_region[64];

/* The environment with LD_PRELOAD and MPT_REGION_FD as the test needs them,
 * built in static storage (exec may follow vfork or a threaded fork). */
static char *const *watched_env(char *const envp[])
{
	const char *pre = getenv("LD_PRELOAD"), *reg = getenv("MPT_REGION_FD");
	if (!pre || !reg || !envp)
		return envp;
	size_t n = 0;
	int has_pre = 0, has_reg = 0;
	for (; envp[n]; n++) {
		if (!strncmp(envp[n], "LD_PRELOAD=", 11) && strstr(envp[n], "libmptest-preload"))
			has_pre = 1;
		if (!strncmp(envp[n], "MPT_REGION_FD=", 14))
			has_reg = 1;
	}
	if ((has_pre && has_reg) || n + 3 >= ENV_MAX)
		return envp;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], "LD_PRELOAD=", 11) && strncmp(envp[i], "MPT_REGION_FD=", 14))
			env_copy[k++] = envp[i];
	snprintf(env_preload, sizeof env_preload, "LD_PRELOAD=%s", pre);
	snprintf(env_region, sizeof env_region, "MPT_REGION_FD=%s", reg);
	env_copy[k++] = env_preload;
	env_copy[k++] = env_region;
	env_copy[k] = NULL;
	return env_copy;
}

static int spawn_common(int use_path, pid_t *pid, const char *path,
			const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[],
			char *const envp[], uintptr_t site)
{
	REAL(int, posix_spawn, (pid_t *, const char *, const posix_spawn_file_actions_t *,
				const posix_spawnattr_t *, char *const[], char *const[]));
	REAL(int, posix_spawnp, (pid_t *, const char *, const posix_spawn_file_actions_t *,
				 const posix_spawnattr_t *, char *const[], char *const[]));
	if (!mpt__shim_on())
		return (use_path ? real_posix_spawnp : real_posix_spawn)(pid, path, fa, attr,
									 argv, envp);
	pid_t child = 0;
	if (mpt__limit_fork_begin(use_path ? "posix_spawnp()" : "posix_spawn()", site) < 0)
		return EAGAIN;
	mpt__procid_spawn_begin();
	mpt__fd_before_exec();
	int r = (use_path ? real_posix_spawnp : real_posix_spawn)(&child, path, fa, attr, argv,
								  watched_env(envp));
	mpt__limit_fork_end(r == 0);
	if (r == 0) {
		mpt__procid_spawned(child, site);
		mpt__note_child(child);
	}
	if (pid)
		*pid = child;
	return r;
}

/* Under --valgrind each process logs to DIR/vg.PID (the runner's
 * --log-file=DIR/vg.%p), and the Valgrind an exec starts opens that file
 * again, truncating what it said about the program before. So the log so
 * far moves aside to DIR/vg.PID.N first (the first N free), and the runner
 * reads them all. MPT_VALGRIND_LOGS=DIR is set only under --valgrind. */
static void valgrind_log_aside(void)
{
	const char *dir = getenv("MPT_VALGRIND_LOGS");
	if (!dir || !*dir)
		return;
	int e = errno;
	char from[4096], to[4128];
	if (snprintf(from, sizeof from, "%s/vg.%d", dir, (int)getpid()) < (int)sizeof from)
		for (int n = 1; n < 10000; n++) {
			snprintf(to, sizeof to, "%s.%d", from, n);
			if (link(from, to) == 0) {
				unlink(from);
				break;
			}
			if (errno != EEXIST)
				break; /* no log (Valgrind had nothing to say yet) */
		}
	errno = e;
}

MPT__EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	REAL(int, execve, (const char *, char *const[], char *const[]));
	valgrind_log_aside();
	if (!mpt__shim_on())
		return real_execve(path, argv, envp);
	mpt__threads_before_exec();
	mpt__fd_before_exec();
	return real_execve(path, argv, watched_env(envp));
}

MPT__EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	REAL(int, execvpe, (const char *, char *const[], char *const[]));
	valgrind_log_aside();
	if (!mpt__shim_on())
		return real_execvpe(file, argv, envp);
	mpt__threads_before_exec();
	mpt__fd_before_exec();
	return real_execvpe(file, argv, watched_env(envp));
}

MPT__EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

MPT__EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* The execl family collects its arguments on the stack (no allocation). */
#define COLLECT(argv, first, ap)                                   \
	do {                                                       \
		size_t n_ = 0;                                     \
		argv[n_++] = (char *)(first);                      \
		while (n_ < 1023 && (argv[n_++] = va_arg(ap, char *))) \
			;                                          \
		argv[1023] = NULL;                                 \
	} while (0)

MPT__EXPORT int execl(const char *path, const char *arg, ...)
{
	char *argv[1024];
	va_list ap;
	va_start(ap, arg);
	COLLECT(argv, arg, ap);
	va_end(ap);
	return execve(path, argv, environ);
}

MPT__EXPORT int execlp(const char *file, const char *arg, ...)
{
	char *argv[1024];
	va_list ap;
	va_start(ap, arg);
	COLLECT(argv, arg, ap);
	va_end(ap);
	return execvpe(file, argv, environ);
}

MPT__EXPORT int execle(const char *path, const char *arg, ...)
{
	char *argv[1024];
	va_list ap;
	va_start(ap, arg);
	COLLECT(argv, arg, ap);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

/* ---- wait: who reaped whom, and how each ended ---------------------------- */

static void reaped(pid_t child, int status)
{
	mpt__limit_reaped();
	struct mpt__proc *p = mpt__proc_find(mpt__current, child);
	if (p) {
		p->status = status;
		p->reaped_by = getpid();
		atomic_store(&p->state, MPT__PS_REAPED);
	}
	if (WIFSIGNALED(status) && mpt__core_signal(WTERMSIG(status))) {
		char msg[256], sig[16], site[160] = "";
		snprintf(msg, sizeof msg, "%s (pid %d%s%s) died of %s%s; reaped by %s",
			 p ? p->id : "a child", (int)child, p && p->prog[0] ? ", " : "",
			 p ? p->prog : "", mpt__signal_name(WTERMSIG(status), sig),
			 WCOREDUMP(status) ? " (core dumped)" : "", mpt__procid());
		if (p && p->fork_site)
			mpt__site_text(p->fork_site, site, sizeof site);
		char detail[512];
		snprintf(detail, sizeof detail, "%s%s%sRun it under --valgrind or a debugger "
			 "to see where it crashed.", site[0] ? "Forked at " : "", site,
			 site[0] ? ". " : "");
		mpt__shim_finding_for(MPT__K_CRASH, child, p ? p->id : NULL, msg, detail);
	}
}

static void note(pid_t r, int status)
{
	if (r > 0 && (WIFEXITED(status) || WIFSIGNALED(status)))
		reaped(r, status);
}

static pid_t wait_common(enum mpt__call call, pid_t pid, int *status, int options,
			 struct rusage *ru)
{
	REAL(pid_t, wait4, (pid_t, int *, int, struct rusage *));
	if (!mpt__shim_on())
		return real_wait4(pid, status, options, ru);
	MPT__INJECT_FAIL(call, -1);
	int st = 0;
	pid_t r = real_wait4(pid, &st, options, ru);
	int e = errno;
	if (status)
		*status = st;
	if (!(options & WNOWAIT))
		note(r, st);
	errno = e;
	return r;
}

MPT__EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	return wait_common(MPT__CALL_WAIT4, pid, status, options, ru);
}

MPT__EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
	return wait_common(MPT__CALL_WAITPID, pid, status, options, NULL);
}

MPT__EXPORT pid_t wait(int *status)
{
	return wait_common(MPT__CALL_WAIT, -1, status, 0, NULL);
}

MPT__EXPORT pid_t wait3(int *status, int options, struct rusage *ru)
{
	return wait_common(MPT__CALL_WAIT3, -1, status, options, ru);
}

MPT__EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	REAL(int, waitid, (idtype_t, id_t, siginfo_t *, int));
	if (!mpt__shim_on())
		return real_waitid(idtype, id, info, options);
	MPT__INJECT_FAIL(MPT__CALL_WAITID, -1);
	int r = real_waitid(idtype, id, info, options);
	int e = errno;
	if (r == 0 && info && info->si_pid > 0 && !(options & WNOWAIT) &&
	    (info->si_code == CLD_EXITED || info->si_code == CLD_KILLED ||
	     info->si_code == CLD_DUMPED)) {
		int st = info->si_code == CLD_EXITED ? (info->si_status & 0xff) << 8
			 : (info->si_status & 0x7f) | (info->si_code == CLD_DUMPED ? 0x80 : 0);
		reaped(info->si_pid, st);
	}
	errno = e;
	return r;
}

/* ---- exit ----------------------------------------------------------------
 * exit() from main's return is called inside libc, past any wrapper, so the
 * checks for a normal exit run from an on_exit handler (it runs before stdio
 * is flushed); _exit and _Exit, which skip those handlers, are wrapped. */

/* fd.c: the descriptor baseline, taken when the shim becomes active. */
void mpt__fd_start(void);

/* Set by the Check guard (framework/integrations/guard.c, linked-in shim
 * only): run first as a process exits, however it exits, so that a test
 * whose process ends before its teardown (a failed ck_assert: _exit(1))
 * still has its descendants killed. */
void (*mpt__exit_hook)(void);

static void at_exit_handler(int status, void *arg)
{
	(void)arg;
	if (mpt__exit_hook)
		mpt__exit_hook();
	if (mpt__shim_on()) {
		unsigned long calls = __atomic_load_n(&mpt__calls, __ATOMIC_RELAXED);
		mpt__stdio_at_exit(1);
		mpt__shim_at_exit(status, calls);
	}
}

void mpt__shim_register_exit(void)
{
	static pid_t registered_in MPT__HOT;
	mpt__inject_alloc_setup(); /* the shim has just become active here */
	mpt__fd_start();
	if (registered_in == getpid())
		return;
	/* Inherited across fork, so one registration covers the children. */
	registered_in = getpid();
	on_exit(at_exit_handler, NULL);
}

MPT__EXPORT void _exit(int code)
{
	REAL_UNCOUNTED(void, _exit, (int));
	if (mpt__exit_hook)
		mpt__exit_hook();
	if (mpt__shim_on()) {
		unsigned long calls = __atomic_load_n(&mpt__calls, __ATOMIC_RELAXED);
		mpt__stdio_at_exit(0);
		mpt__shim_at_exit(code, calls);
	}
	real__exit(code);
	__builtin_unreachable();
}

MPT__EXPORT void _Exit(int code)
{
	_exit(code);
}

/* ---- timers /proc does not show ------------------------------------------ */

/* alarm(), ualarm() and setitimer(ITIMER_REAL) leave no trace in /proc, yet
 * the SIGALRM they send ends a wait (the handler interrupts it, or the
 * default action ends the process): the watchdog reads when it is due from
 * the region. Async-signal-safe, as alarm() is. */
static void note_alarm(int64_t after_ns, int repeats)
{
	struct mpt__proc *self = mpt__procid_self();
	if (!self)
		return;
	int64_t due = 0;
	if (repeats)
		due = INT64_MAX;
	else if (after_ns > 0)
		due = mpt__now_ns() + after_ns;
	atomic_store(&self->alarm_ns, due);
}

MPT__EXPORT unsigned int alarm(unsigned int seconds)
{
	REAL_UNCOUNTED(unsigned int, alarm, (unsigned int));
	unsigned int r = real_alarm(seconds);
	if (mpt__shim_on())
		note_alarm((int64_t)seconds * 1000000000LL, 0);
	return r;
}

MPT__EXPORT useconds_t ualarm(useconds_t usecs, useconds_t interval)
{
	REAL_UNCOUNTED(useconds_t, ualarm, (useconds_t, useconds_t));
	useconds_t r = real_ualarm(usecs, interval);
	if (mpt__shim_on())
		note_alarm((int64_t)usecs * 1000, usecs && interval);
	return r;
}

MPT__EXPORT int setitimer(__itimer_which_t which, const struct itimerval *nv,
			  struct itimerval *ov)
{
	REAL_UNCOUNTED(int, setitimer, (__itimer_which_t, const struct itimerval *,
					struct itimerval *));
	int r = real_setitimer(which, nv, ov);
	if (r == 0 && nv && which == ITIMER_REAL && mpt__shim_on()) {
		int e = errno;
		int64_t after = (int64_t)nv->it_value.tv_sec * 1000000000LL +
				(int64_t)nv->it_value.tv_usec * 1000;
		note_alarm(after, after > 0 && (nv->it_interval.tv_sec || nv->it_interval.tv_usec));
		errno = e;
	}
	return r;
}
