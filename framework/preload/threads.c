/* fork() in a threaded process (fork-with-threads).
 *
 * The child of fork() has one thread, but a copy of every lock the other
 * threads held at that instant: malloc's arenas, a FILE's lock, the
 * program's own mutexes. POSIX therefore allows it only async-signal-safe
 * calls until it execs or _exits (HAZARDS row 11); glibc papers over some
 * of its own locks, other libraries and the program's do not. The fork
 * wrapper counts the parent's threads (prepare) and arms the child when
 * there were others; the first call the child then makes to a function on
 * the watch list below (and lock.c's lock calls on private mutexes,
 * semaphores and condition waits) is reported, once. exec replaces the
 * image and _exit() disarms, so fork+exec and fork+_exit stay silent;
 * an unsafe call libc made earlier on the child's behalf is reported at
 * either (see alloc_call).
 *
 * malloc, calloc, realloc and free are interposed here too. Outside an
 * armed child each costs one well-predicted branch on a flag that only an
 * armed child sets, and the real calls go to glibc's __libc_* entry points:
 * no dlsym, so no bootstrap recursion. Under Valgrind, memcheck replaces
 * these four with its own allocator (as it does libc's), so it sees every
 * block and the allocator half of this check steps aside there; the stdio
 * and exit half still works.
 *
 * The same wrappers serve fault injection (--inject=malloc:error=ENOMEM,
 * and calloc, realloc): the flag they test is armed | alloc_rules, where
 * alloc_rules is set once, when the shim becomes active in a process whose
 * rules name one of the three. Only the calls of the program and of its
 * other libraries are counted and can fail: not those made inside libc or
 * the dynamic loader (the inner half of strdup, fopen, dlopen), nor the
 * shim's and the runner's own (libmptest), so a fault never lands in the
 * harness and the injection path, which allocates nothing, cannot recurse.
 * Under Valgrind and ASan, whose allocators replace these wrappers, malloc
 * rules do not fire. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "../core/kinds.h"
#include "../core/procid.h"
#include "inject.h"
#include "limits.h"
#include "shim.h"

/* Called from stdio.c (exit hooks, fflush): a no-op unless this process
 * is an armed child. site is the caller's address, or 0. */
void mpt__threads_unsafe(const char *call, uintptr_t site);
void mpt__threads_at_exit(int via_exit);
/* From lock.c's wrappers of the lock calls that are not
 * async-signal-safe (pthread_mutex_lock on a private mutex, ...), when
 * mpt__threads_armed is set: reported unless the harness itself called. */
void mpt__threads_lock_call(const char *call, uintptr_t site);
/* From proc.c's exec wrappers, before the exec: an unsafe call libc made
 * for the child earlier (pending) is reported now, or never. */
void mpt__threads_before_exec(void);

/* glibc's allocator under its own names (malloc/malloc.c). noplt: the
 * wrappers jump through the GOT, not through a PLT stub as well. */
#if defined(__x86_64__) || defined(__i386__)
#define NOPLT __attribute__((noplt))
#else
#define NOPLT
#endif
NOPLT void *__libc_malloc(size_t n);
NOPLT void *__libc_calloc(size_t n, size_t size);
NOPLT void *__libc_realloc(void *p, size_t n);
NOPLT void __libc_free(void *p);

/* The fortified entry points gcc emits with _FORTIFY_SOURCE. */
int __printf_chk(int flag, const char *fmt, ...);
int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...);
int __vprintf_chk(int flag, const char *fmt, va_list ap);
int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap);
void __syslog_chk(int pri, int flag, const char *fmt, ...);
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap);

/* An armed child: nothing unsafe reported yet. lock.c tests it too. */
int mpt__threads_armed MPT__HOT;
static int fork_threads;  /* threads in the parent at the last fork */

/* An allocator call made from inside libc or the dynamic loader, kept for
 * the next safe point (see alloc_call). */
static const char *pending_call;
static uintptr_t pending_site;
static int at_exec; /* the report is made on the way into exec */

#define SITE() ((uintptr_t)__builtin_return_address(0))
#define WATCH(call)                                            \
	do {                                                   \
		if (__builtin_expect(mpt__threads_armed, 0))   \
			mpt__threads_unsafe(call, SITE());     \
	} while (0)

/* ---- counting threads, in fork's path -------------------------------------
 * No allocation, and raw system calls: open(), read() and close() are
 * fd.c's wrappers, which would note a descriptor of ours. */

static int count_threads(void)
{
	/* glibc clears this when the first thread starts and never sets it
	 * back: a process that never had a thread skips /proc. */
	if (__libc_single_threaded)
		return 1;
	char buf[1024];
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n;
	do
		n = syscall(SYS_read, fd, buf, sizeof buf - 1);
	while (n < 0 && errno == EINTR);
	syscall(SYS_close, fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* "pid (comm) S ppid ...": comm may hold spaces and parentheses, so
	 * count from the last ')'; num_threads is field 20, the 18th after
	 * it (field 3 is the state). */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (int field = 2; field < 20 && *p; p++)
		if (*p == ' ')
			field++;
	int t = 0;
	while (*p >= '0' && *p <= '9')
		t = t * 10 + (*p++ - '0');
	return t;
}

void mpt__threads_fork_prepare(void)
{
	int e = errno;
	fork_threads = count_threads();
	errno = e;
}

void mpt__threads_fork_child(void)
{
	mpt__threads_armed = fork_threads > 1;
	pending_call = NULL;
}

/* ---- the report ------------------------------------------------------------ */

void mpt__threads_unsafe(const char *call, uintptr_t site)
{
	if (!mpt__threads_armed)
		return;
	/* Disarmed first: the report itself allocates (symbolizing), and each
	 * child is reported once, for its first offence. */
	mpt__threads_armed = 0;
	if (pending_call) {
		call = pending_call;
		site = pending_site;
	}
	int e = errno;
	char where[160] = "", forked[160] = "";
	if (site)
		mpt__site_text(site, where, sizeof where);
	struct mpt__proc *me = mpt__procid_self();
	if (me && me->fork_site)
		mpt__site_text(me->fork_site, forked, sizeof forked);
	const char *prog = me && me->prog[0] ? me->prog : program_invocation_short_name;
	char msg[768], detail[1024];
	snprintf(msg, sizeof msg,
		 "%s (pid %d, %s) called %s() after fork() in a process with %d threads, "
		 "before exec or _exit%s%s",
		 mpt__procid(), (int)getpid(), prog ? prog : "?", call, fork_threads,
		 where[0] ? ", from " : "", where);
	int lock = !strncmp(call, "pthread_", 8) || !strncmp(call, "sem_", 4);
	snprintf(detail, sizeof detail,
		 "%s%s%s%s() is not async-signal-safe: %s may have been held by another "
		 "thread at fork, and stays held in the child forever%s. Between fork() and "
		 "exec in a threaded program call only async-signal-safe functions; use "
		 "posix_spawn, or fork before starting threads.",
		 forked[0] ? "Forked at " : "", forked, forked[0] ? ". " : "", call,
		 lock ? "the lock it takes" : "a lock it needs",
		 at_exec ? " (the child exec'd afterwards: too late)" : "");
	mpt__shim_finding(MPT__K_FORK_WITH_THREADS, msg, detail);
	errno = e;
}

/* exec is the correct end, but an allocation libc made for the child
 * earlier (strdup, asprintf, setenv, fopen, opendir...) still counts, and
 * must be reported now: the new image starts with nothing of this one. The
 * finding goes to the session region, which survives the exec. The child
 * stays armed for the case where exec fails and it goes on. */
void mpt__threads_before_exec(void)
{
	if (__builtin_expect(mpt__threads_armed, 0) && pending_call) {
		at_exec = 1;
		mpt__threads_unsafe(pending_call, pending_site);
		at_exec = 0;
	}
}

/* exit() is itself unsafe; _exit() is the correct end, but an allocation
 * libc made for the child earlier (pending) still counts. */
void mpt__threads_at_exit(int via_exit)
{
	if (via_exit || pending_call)
		mpt__threads_unsafe("exit", 0);
	mpt__threads_armed = 0;
}

/* ---- the allocator ---------------------------------------------------------
 * A call from the program (or another library) is reported at once. One
 * from inside libc or the dynamic loader is the inner half of some other
 * call (strdup, fopen, dlopen), made perhaps with libc's locks held, where
 * symbolizing a report could re-enter the loader: it is kept and reported
 * at the next safe point (the next watched call, exec, exit or _exit).
 * free() from there is not counted at all: the shim's own first lookup
 * of a libc function (dlsym) frees a stale dlerror message, which must
 * not make a correct fork+_exit look guilty. */

struct range {
	uintptr_t lo, hi;
};
static struct range runtime[4]; /* executable segments of libc and ld.so */
static int nruntime;
static struct range own[8];     /* ... and of libmptest and its preload copy */
static int nown;
static int alloc_rules MPT__HOT;         /* a rule names malloc, calloc or realloc */

static int in_runtime(uintptr_t a)
{
	for (int i = 0; i < nruntime; i++)
		if (a >= runtime[i].lo && a < runtime[i].hi)
			return 1;
	return 0;
}

static int in_own(uintptr_t a)
{
	for (int i = 0; i < nown; i++)
		if (a >= own[i].lo && a < own[i].hi)
			return 1;
	return 0;
}

static int holds(const struct dl_phdr_info *info, uintptr_t a)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && a >= lo && a < lo + ph->p_memsz)
			return 1;
	}
	return 0;
}

/* dl_iterate_phdr's callback, once at load: the object holding
 * __libc_malloc (arg) is libc; the one loaded at AT_BASE is ld.so. This
 * object and any libmptest library are the harness's own. */
static int note_runtime(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uintptr_t libc_fn = (uintptr_t)arg, ldso = (uintptr_t)getauxval(AT_BASE);
	int harness = holds(info, (uintptr_t)note_runtime) ||
		      (info->dlpi_name && strstr(info->dlpi_name, "libmptest"));
	for (int i = 0; harness && i < info->dlpi_phnum && nown < 8; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
			own[nown++] = (struct range){lo, lo + ph->p_memsz};
		}
	}
	int mine = (ldso && info->dlpi_addr == ldso) || holds(info, libc_fn);
	for (int i = 0; mine && i < info->dlpi_phnum && nruntime < 4; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
			runtime[nruntime++] = (struct range){lo, lo + ph->p_memsz};
		}
	}
	return 0;
}

/* A lock call of the program or of another library: the lock is a copy of
 * one another thread may have held at fork, and nobody will ever release
 * it here. The harness's own calls are not the program's. */
void mpt__threads_lock_call(const char *call, uintptr_t site)
{
	if (!in_own(site))
		mpt__threads_unsafe(call, site);
}

static __attribute__((unused)) void alloc_call(const char *call, uintptr_t site, int is_free)
{
	if (!in_runtime(site)) {
		mpt__threads_unsafe(call, site);
	} else if (!is_free && !pending_call) {
		pending_call = call;
		pending_site = site;
	}
}

/* The armed paths are out of line, so the common one is a load, a test,
 * the call to glibc and a test of its result. */
#define COLD __attribute__((noinline, cold))

void mpt__inject_alloc_setup(void)
{
	alloc_rules = 0;
	if (!mpt__inject_on())
		return;
	uint64_t mask = mpt__current->inject.call_mask;
	alloc_rules = ((mask >> MPT__CALL_MALLOC) | (mask >> MPT__CALL_CALLOC) |
		       (mask >> MPT__CALL_REALLOC)) & 1;
}

/* Whether this allocation fails by a rule (errno is then ENOMEM). */
static __attribute__((unused)) int alloc_fails(enum mpt__call call, uintptr_t site)
{
	int64_t v;
	if (!alloc_rules || !mpt__inject_on() || in_runtime(site) || in_own(site))
		return 0;
	if (mpt__inject_call(call, &v) != MPT__RULE_ERROR)
		return 0;
	errno = (int)v;
	return 1;
}

/* Under AddressSanitizer (the ASan build of mptest itself) the allocator
 * belongs to the sanitizer: wrapping it here would hand its blocks to
 * glibc's free. The allocator half of this check is off in that build. */
#ifndef __SANITIZE_ADDRESS__
/* A real allocation that failed: under --max-memory, the test's
 * resource-limit finding (limits.c). Checked after the real call only, so
 * a failure injected by a rule is never mistaken for the limit. */
static COLD void alloc_null(const char *call, size_t n, uintptr_t site)
{
	mpt__limit_alloc_failed(call, n, site);
}

static inline void *checked(void *r, const char *call, size_t n, uintptr_t site)
{
	if (__builtin_expect(!r && n, 0))
		alloc_null(call, n, site);
	return r;
}

static inline size_t calloc_bytes(size_t n, size_t size)
{
	size_t b;
	return __builtin_mul_overflow(n, size, &b) ? SIZE_MAX : b;
}

static COLD void *watched_malloc(size_t n, uintptr_t site)
{
	if (mpt__threads_armed)
		alloc_call("malloc", site, 0);
	if (alloc_fails(MPT__CALL_MALLOC, site))
		return NULL;
	return checked(__libc_malloc(n), "malloc", n, site);
}

static COLD void *watched_calloc(size_t n, size_t size, uintptr_t site)
{
	if (mpt__threads_armed)
		alloc_call("calloc", site, 0);
	if (alloc_fails(MPT__CALL_CALLOC, site))
		return NULL;
	return checked(__libc_calloc(n, size), "calloc", calloc_bytes(n, size), site);
}

static COLD void *watched_realloc(void *p, size_t n, uintptr_t site)
{
	if (mpt__threads_armed)
		alloc_call("realloc", site, 0);
	if (alloc_fails(MPT__CALL_REALLOC, site))
		return NULL;
	return checked(__libc_realloc(p, n), "realloc", n, site);
}

static COLD void watched_free(void *p, uintptr_t site)
{
	alloc_call("free", site, 1);
	__libc_free(p);
}

MPT__EXPORT void *malloc(size_t n)
{
	if (__builtin_expect(mpt__threads_armed | alloc_rules, 0))
		return watched_malloc(n, SITE());
	return checked(__libc_malloc(n), "malloc", n, SITE());
}

MPT__EXPORT void *calloc(size_t n, size_t size)
{
	if (__builtin_expect(mpt__threads_armed | alloc_rules, 0))
		return watched_calloc(n, size, SITE());
	return checked(__libc_calloc(n, size), "calloc", calloc_bytes(n, size), SITE());
}

MPT__EXPORT void *realloc(void *p, size_t n)
{
	if (__builtin_expect(mpt__threads_armed | alloc_rules, 0))
		return watched_realloc(p, n, SITE());
	return checked(__libc_realloc(p, n), "realloc", n, SITE());
}

MPT__EXPORT void free(void *p)
{
	if (__builtin_expect(mpt__threads_armed, 0))
		watched_free(p, SITE());
	else
		__libc_free(p);
}
#endif

/* ---- stdio, syslog, exit ------------------------------------------------------
 * The real functions are looked up when the library loads, so an armed
 * child never needs dlsym (the loader's lock may be one of those held).
 * pthread_mutex_lock and the other lock calls belong to lock.c's
 * wrappers, which report through mpt__threads_lock_call(). */

static struct {
	int (*vprintf)(const char *, va_list);
	int (*vfprintf)(FILE *, const char *, va_list);
	int (*vprintf_chk)(int, const char *, va_list);
	int (*vfprintf_chk)(FILE *, int, const char *, va_list);
	int (*puts)(const char *);
	int (*fputs)(const char *, FILE *);
	int (*fputc)(int, FILE *);
	int (*putc)(int, FILE *);
	int (*putchar)(int);
	size_t (*fwrite)(const void *, size_t, size_t, FILE *);
	void (*vsyslog)(int, const char *, va_list);
	void (*vsyslog_chk)(int, int, const char *, va_list);
	void (*exit)(int);
} real;

#define REAL(field, name)                                          \
	(__builtin_expect(real.field != NULL, 1)                   \
		 ? real.field                                      \
		 : (*(void **)&real.field = mpt__real(name), real.field))

__attribute__((constructor)) static void threads_init(void)
{
	int e = errno;
	dl_iterate_phdr(note_runtime, (void *)(uintptr_t)__libc_malloc);
	(void)REAL(vprintf, "vprintf");
	(void)REAL(vfprintf, "vfprintf");
	(void)REAL(vprintf_chk, "__vprintf_chk");
	(void)REAL(vfprintf_chk, "__vfprintf_chk");
	(void)REAL(puts, "puts");
	(void)REAL(fputs, "fputs");
	(void)REAL(fputc, "fputc");
	(void)REAL(putc, "putc");
	(void)REAL(putchar, "putchar");
	(void)REAL(fwrite, "fwrite");
	(void)REAL(vsyslog, "vsyslog");
	(void)REAL(vsyslog_chk, "__vsyslog_chk");
	(void)REAL(exit, "exit");
	errno = e;
}

MPT__EXPORT int printf(const char *fmt, ...)
{
	WATCH("printf");
	va_list ap;
	va_start(ap, fmt);
	int r = REAL(vprintf, "vprintf")(fmt, ap);
	va_end(ap);
	return r;
}

MPT__EXPORT int vprintf(const char *fmt, va_list ap)
{
	WATCH("vprintf");
	return REAL(vprintf, "vprintf")(fmt, ap);
}

MPT__EXPORT int fprintf(FILE *fp, const char *fmt, ...)
{
	WATCH("fprintf");
	va_list ap;
	va_start(ap, fmt);
	int r = REAL(vfprintf, "vfprintf")(fp, fmt, ap);
	va_end(ap);
	return r;
}

MPT__EXPORT int vfprintf(FILE *fp, const char *fmt, va_list ap)
{
	WATCH("vfprintf");
	return REAL(vfprintf, "vfprintf")(fp, fmt, ap);
}

MPT__EXPORT int __printf_chk(int flag, const char *fmt, ...)
{
	WATCH("printf");
	va_list ap;
	va_start(ap, fmt);
	int r = REAL(vprintf_chk, "__vprintf_chk")(flag, fmt, ap);
	va_end(ap);
	return r;
}

MPT__EXPORT int __vprintf_chk(int flag, const char *fmt, va_list ap)
{
	WATCH("vprintf");
	return REAL(vprintf_chk, "__vprintf_chk")(flag, fmt, ap);
}

MPT__EXPORT int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...)
{
	WATCH("fprintf");
	va_list ap;
	va_start(ap, fmt);
	int r = REAL(vfprintf_chk, "__vfprintf_chk")(fp, flag, fmt, ap);
	va_end(ap);
	return r;
}

MPT__EXPORT int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap)
{
	WATCH("vfprintf");
	return REAL(vfprintf_chk, "__vfprintf_chk")(fp, flag, fmt, ap);
}

/* gcc turns printf("text\n") into puts and printf("%c", c) into putchar. */
MPT__EXPORT int puts(const char *s)
{
	WATCH("puts");
	return REAL(puts, "puts")(s);
}

MPT__EXPORT int fputs(const char *s, FILE *fp)
{
	WATCH("fputs");
	return REAL(fputs, "fputs")(s, fp);
}

MPT__EXPORT int fputc(int c, FILE *fp)
{
	WATCH("fputc");
	return REAL(fputc, "fputc")(c, fp);
}

MPT__EXPORT int putc(int c, FILE *fp)
{
	WATCH("putc");
	return REAL(putc, "putc")(c, fp);
}

MPT__EXPORT int putchar(int c)
{
	WATCH("putchar");
	return REAL(putchar, "putchar")(c);
}

MPT__EXPORT size_t fwrite(const void *p, size_t size, size_t n, FILE *fp)
{
	WATCH("fwrite");
	return REAL(fwrite, "fwrite")(p, size, n, fp);
}

MPT__EXPORT void syslog(int pri, const char *fmt, ...)
{
	WATCH("syslog");
	va_list ap;
	va_start(ap, fmt);
	REAL(vsyslog, "vsyslog")(pri, fmt, ap);
	va_end(ap);
}

MPT__EXPORT void vsyslog(int pri, const char *fmt, va_list ap)
{
	WATCH("vsyslog");
	REAL(vsyslog, "vsyslog")(pri, fmt, ap);
}

MPT__EXPORT void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	WATCH("syslog");
	va_list ap;
	va_start(ap, fmt);
	REAL(vsyslog_chk, "__vsyslog_chk")(pri, flag, fmt, ap);
	va_end(ap);
}

MPT__EXPORT void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	WATCH("vsyslog");
	REAL(vsyslog_chk, "__vsyslog_chk")(pri, flag, fmt, ap);
}

/* An explicit exit() is reported here, before the atexit handlers run
 * (they may allocate); a return from main reaches the on_exit hook
 * (mpt__threads_at_exit) instead. */
MPT__EXPORT void exit(int code)
{
	WATCH("exit");
	REAL(exit, "exit")(code);
	__builtin_unreachable();
}
