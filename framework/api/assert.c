/* Assertions: a failure is recorded in the session region (crash-safe,
 * whatever process it happens in), echoed on stderr, and ends the process. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../include/mptest.h"
#include "../core/kinds.h"
#include "../core/procid.h"
#include "../core/region.h"
#include "../core/lockslot.h"
#include "../core/util.h"
#include "../preload/shim.h"

struct mpt__val mpt__val_i(long long v)
{
	struct mpt__val r;
	snprintf(r.s, sizeof r.s, "%lld", v);
	return r;
}

struct mpt__val mpt__val_u(unsigned long long v)
{
	struct mpt__val r;
	snprintf(r.s, sizeof r.s, "%llu", v);
	return r;
}

struct mpt__val mpt__val_f(long double v)
{
	struct mpt__val r;
	snprintf(r.s, sizeof r.s, "%.17Lg", v);
	return r;
}

struct mpt__val mpt__val_p(const volatile void *v)
{
	struct mpt__val r;
	if (v)
		snprintf(r.s, sizeof r.s, "%p", (const void *)v);
	else
		snprintf(r.s, sizeof r.s, "NULL");
	return r;
}

int mpt__str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Records one line from this process; kind is a finding or MPT__K_SKIP. */
static void record(int kind, const char *file, int line, const char *msg)
{
	struct mpt__region *g = mpt__current;
	if (!g)
		return;
	struct mpt__record *rec = mpt__record_claim(g);
	if (!rec)
		return;
	rec->kind = kind;
	rec->pid = getpid();
	snprintf(rec->process, sizeof rec->process, "%s", mpt__procid());
	snprintf(rec->file, sizeof rec->file, "%s", file ? file : "");
	rec->line = line;
	snprintf(rec->message, sizeof rec->message, "%s", msg);
	mpt__record_publish(rec);
}

/* Ends the failing process: the leader like a test that returned with a
 * failure (stdio flushed, so its output is shown); any other process with
 * _exit, so it cannot flush stdio buffers it inherited a second time. */
__attribute__((noreturn))
static void end_process(int code)
{
	if (mpt__current && getpid() == mpt__current->leader)
		exit(code);
	_exit(code);
}

/* Failure messages are built in fixed buffers on the stack: the failing
 * process may be a fork() child of a threaded program, where malloc is not
 * safe, and it never returns to free anything. */
#define TEXT_MAX 1024

__attribute__((noreturn))
static void fail_text(const char *file, int line, const char *text)
{
	char all[TEXT_MAX + 256];
	int n;
	if (mpt__current)
		n = snprintf(all, sizeof all, "%s:%d: %s (pid %d): %s\n", file, line,
			     mpt__procid(), (int)getpid(), text);
	else
		n = snprintf(all, sizeof all, "%s:%d: %s\n", file, line, text);
	if (n > (int)sizeof all - 1)
		n = (int)sizeof all - 1;
	/* One write, so lines from several processes do not interleave. */
	ssize_t w = write(2, all, (size_t)n);
	(void)w;
	record(MPT__K_ASSERTION, file, line, text);
	end_process(1);
}

void mpt__fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	char detail[512], text[TEXT_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	snprintf(text, sizeof text, "%s failed: %s", expr, detail);
	fail_text(file, line, text);
}

void mpt__fail_cmp(const char *file, int line, const char *expr,
		   const char *op, const char *a, const char *b)
{
	char text[TEXT_MAX];
	snprintf(text, sizeof text, "%s failed: %s %s %s is false", expr, a, op, b);
	fail_text(file, line, text);
}

/* A string as C source would spell it, cut at 120 bytes. */
static size_t quote(char *out, size_t cap, const char *s)
{
	size_t n = 0;
#define PUT(...) (n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, __VA_ARGS__))
	if (!s) {
		PUT("NULL");
		return n;
	}
	PUT("\"");
	size_t i;
	for (i = 0; s[i] && i < 120; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			PUT("\\%c", c);
		else if (c == '\n')
			PUT("\\n");
		else if (c < 0x20 || c == 0x7f)
			PUT("\\x%02x", c);
		else
			PUT("%c", c);
	}
	PUT(s[i] ? "\"..." : "\"");
#undef PUT
	return n;
}

void mpt__fail_str(const char *file, int line, const char *expr,
		   const char *a, const char *b)
{
	char text[TEXT_MAX + 1300], qa[600], qb[600];
	quote(qa, sizeof qa, a);
	quote(qb, sizeof qb, b);
	snprintf(text, sizeof text, "%s failed: %s != %s", expr, qa, qb);
	fail_text(file, line, text);
}

void mpt__fail_errno(const char *file, int line, const char *expr, int err)
{
	char text[TEXT_MAX];
	const char *name = mpt__errno_name(err);
	snprintf(text, sizeof text, "%s failed: returned -1, errno %s (%s)", expr,
		 name ? name : "?", strerror(err));
	fail_text(file, line, text);
}

void mpt__skip(const char *file, int line, const char *fmt, ...)
{
	char reason[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	record(MPT__K_SKIP, file, line, reason);
	end_process(0);
}

static int wait_nointr(pid_t pid, int *st)
{
	pid_t r;
	do
		r = waitpid(pid, st, 0);
	while (r == -1 && errno == EINTR);
	return r == -1 ? -1 : 0;
}

static void describe(char *buf, size_t n, int st)
{
	char sig[16];
	if (WIFEXITED(st))
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, n, "was killed by %s%s", mpt__signal_name(WTERMSIG(st), sig),
			 WCOREDUMP(st) ? " (core dumped)" : "");
	else
		snprintf(buf, n, "changed state (status 0x%x)", st);
}

void mpt__wait_exited(const char *file, int line, pid_t pid, int code)
{
	int st;
	if (wait_nointr(pid, &st) < 0)
		mpt__fail_errno(file, line, "mpt_wait_exited(waitpid)", errno);
	if (WIFEXITED(st) && WEXITSTATUS(st) == code)
		return;
	char got[96];
	describe(got, sizeof got, st);
	mpt__fail(file, line, "mpt_wait_exited", "expected process %d to exit with "
		  "status %d, but it %s", (int)pid, code, got);
}

void mpt__wait_signaled(const char *file, int line, pid_t pid, int sig)
{
	int st;
	if (wait_nointr(pid, &st) < 0)
		mpt__fail_errno(file, line, "mpt_wait_signaled(waitpid)", errno);
	if (WIFSIGNALED(st) && WTERMSIG(st) == sig)
		return;
	char got[96], want[16];
	describe(got, sizeof got, st);
	mpt__fail(file, line, "mpt_wait_signaled", "expected process %d to be killed "
		  "by %s, but it %s", (int)pid, mpt__signal_name(sig, want), got);
}

void mpt__assert_no_children(const char *file, int line)
{
	char path[64], kids[2048], list[600] = "";
	snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
	if (mpt__read_file(path, kids, sizeof kids) <= 0)
		return;
	int n = 0;
	size_t used = 0;
	for (char *p = kids; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		p = end;
		int zombie = mpt__proc_state((pid_t)pid) == 'Z';
		const char *id = mpt__current ? mpt__proc_id(mpt__current, (pid_t)pid) : NULL;
		if (used < sizeof list - 80)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%ld (%s, %s)",
						 n ? ", " : "", pid, id ? id : "?",
						 zombie ? "exited, not reaped" : "running");
		n++;
	}
	if (n)
		mpt__fail(file, line, "mpt_assert_no_children()",
			  "%d child%s left: %s", n, n == 1 ? "" : "ren", list);
}

void mpt__assert_fds_unchanged(const char *file, int line)
{
	char list[700];
	int n = mpt__fd_opened_since_start(list, sizeof list);
	if (n)
		mpt__fail(file, line, "mpt_assert_fds_unchanged()",
			  "%d descriptor%s opened since the test started %s still open: %s",
			  n, n == 1 ? "" : "s", n == 1 ? "is" : "are", list);
}

void mpt__assert_no_locks(const char *file, int line)
{
	if (!mpt__current)
		return;
	char list[700] = "";
	size_t used = 0;
	int n = 0;
	pid_t me = getpid();
	for (int i = 0; i < MPT__MAX_LOCKS; i++) {
		struct mpt__lock *l = &mpt__current->locks[i];
		unsigned u = atomic_load(&l->used);
		if (!(u & MPT__LS_READY) || atomic_load(&l->owner) != me)
			continue;
		const char *what = NULL;
		if (l->type == MPT__LOCK_MUTEX)
			what = "process-shared mutex";
		else if (l->type == MPT__LOCK_SEM && l->count > 0)
			what = "unit of process-shared semaphore";
		else if ((l->type == MPT__LOCK_FLOCK || l->type == MPT__LOCK_LOCKF) &&
			 (u & MPT__LS_HELD))
			what = l->type == MPT__LOCK_FLOCK ? "flock() on inode" : "lockf() on inode";
		if (!what)
			continue;
		char site[200] = "";
		mpt__site_text(l->site, site, sizeof site);
		if (used + 1 < sizeof list)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%s 0x%lx%s%s",
						 n ? "; " : "", what, (unsigned long)l->addr,
						 site[0] ? " taken at " : "", site);
		n++;
	}
	if (n)
		mpt__fail(file, line, "mpt_assert_no_locks()", "%d lock%s still held: %s", n,
			  n == 1 ? "" : "s", list);
}

const char *mpt_process_id(void)
{
	return mpt__procid();
}
