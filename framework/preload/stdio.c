/* stdio buffers across fork (stdio-duplicate).
 *
 * Bytes a process buffered in a FILE before fork() exist twice afterwards:
 * in the parent's buffer and in the child's copy of it. When both flush,
 * the output appears twice (HAZARDS row 9). The child's copy is exactly
 * what was pending at the instant of fork, so the child takes the note
 * (fork_child: every stream on glibc's list of open FILEs, no allocation)
 * and decides at the points where its copy can reach the file:
 *   - fflush(fp) or fflush(NULL): the copy is written now;
 *   - exit(): the exit checks run just before stdio is flushed, so bytes
 *     still pending then are about to be written;
 *   - _exit(): nothing is flushed, but a later write that overflowed the
 *     buffer (or an fclose) has already written the copy: the buffer no
 *     longer holds the bytes noted at fork.
 * fpurge() discards the copy, and exec and _exit() drop it unwritten: no
 * finding; nor when the child pointed the descriptor elsewhere first. A
 * parent that flushed before fork() leaves nothing to note.
 *
 * Streams are found on glibc's own list (_IO_list_all) rather than by
 * wrapping fopen: fopen, fdopen and fclose belong to fd.c's wrappers, and
 * the list also holds what popen, freopen and fdopen made. glibc's struct
 * _IO_FILE is public (bits/types/struct_FILE.h), and so is the list head. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/kinds.h"
#include "../core/procid.h"
#include "shim.h"

/* glibc's list of open streams (libio), linked through _chain. Its real
 * type is struct _IO_FILE_plus *, whose first member is the FILE. */
extern FILE *_IO_list_all;

/* threads.c: the exit of a child forked from a threaded process, and the
 * calls there that are not async-signal-safe. */
void mpt__threads_at_exit(int via_exit);
void mpt__threads_unsafe(const char *call, uintptr_t site);

/* Looked up when the library loads, so the child of a threaded fork
 * never needs dlsym here. */
static int (*real_fflush)(FILE *);
static int (*real_fflush_unlocked)(FILE *);
static void (*real_fpurge)(FILE *);

#define REAL(var, name) \
	(__builtin_expect(var != NULL, 1) ? var : (*(void **)&var = mpt__real(name), var))

__attribute__((constructor)) static void stdio_init(void)
{
	int e = errno;
	(void)REAL(real_fflush, "fflush");
	(void)REAL(real_fflush_unlocked, "fflush_unlocked");
	(void)REAL(real_fpurge, "__fpurge");
	errno = e;
}

/* Enough for stdin, stdout, stderr and the files a test program keeps
 * open; streams past it are not watched. */
#define MAX_HELD 32
/* Walking a corrupted list must end. */
#define MAX_WALK 4096
#define HEAD_MAX 24

/* A file, as statx names it. */
struct file_id {
	uint32_t major, minor;
	uint64_t ino;
};

/* Output a stream held at fork, in this process's copy of its buffer. */
struct held {
	FILE *fp;
	char *base;           /* where the pre-fork bytes start */
	size_t n;             /* how many were pending */
	unsigned long sum;    /* their FNV-1a hash: still the same bytes? */
	int fd;
	int done;             /* reported, purged, or dropped unwritten */
	size_t nhead;
	char head[HEAD_MAX];  /* the first bytes, for the report */
	struct file_id file;  /* what fd named at fork */
};

static struct held held[MAX_HELD];
static int nheld MPT__HOT;

static unsigned long fnv(const char *p, size_t n)
{
	unsigned long h = 1469598103934665603ul;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ul;
	return h;
}

static int open_stream(FILE *fp)
{
	int k = 0;
	for (FILE *f = _IO_list_all; f && k < MAX_WALK; f = f->_chain, k++)
		if (f == fp)
			return 1;
	return 0;
}

/* The bytes noted at fork are still unwritten in the buffer. A flush
 * rewinds the write pointer to the buffer's start and later writes replace
 * the bytes, so a stream that was flushed since fork fails one of these
 * (an fclose'd one is off the list). */
static int still_pending(const struct held *h)
{
	if (!open_stream(h->fp))
		return 0;
	FILE *fp = h->fp;
	return fp->_IO_write_base == h->base && fp->_IO_write_ptr >= h->base + h->n &&
	       fnv(h->base, h->n) == h->sum;
}

/* The stream's descriptor still names the file it named at fork. A
 * daemonizing child that pointed fd 1 at /dev/null (dup2) flushes the
 * copy there, where nobody sees it twice. fstat() is fd.c's wrapper, so
 * the system call is made directly; statx's layout is the same on every
 * architecture. */
static int file_id(int fd, struct file_id *id)
{
	struct statx st;
	if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_INO, &st) != 0)
		return -1;
	*id = (struct file_id){st.stx_dev_major, st.stx_dev_minor, st.stx_ino};
	return 0;
}

static int same_file(const struct held *h)
{
	struct file_id now;
	return file_id(h->fd, &now) == 0 && now.major == h->file.major &&
	       now.minor == h->file.minor && now.ino == h->file.ino;
}

/* "stdout", "fd 3 (/tmp/out.txt)" */
static void stream_name(const struct held *h, char *buf, size_t size)
{
	if (h->fp == stdout && h->fd == 1) {
		snprintf(buf, size, "stdout");
		return;
	}
	if (h->fp == stderr && h->fd == 2) {
		snprintf(buf, size, "stderr");
		return;
	}
	char link[32], target[160];
	snprintf(link, sizeof link, "/proc/self/fd/%d", h->fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n > 0) {
		target[n] = 0;
		snprintf(buf, size, "fd %d (%s)", h->fd, target);
	} else {
		snprintf(buf, size, "fd %d", h->fd);
	}
}

/* The first bytes as a C string literal body: "hello\n". */
static void quote(const struct held *h, char *buf, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < h->nhead && o + 5 < size; i++) {
		unsigned char c = (unsigned char)h->head[i];
		if (c == '\n')
			o += (size_t)snprintf(buf + o, size - o, "\\n");
		else if (c == '\t')
			o += (size_t)snprintf(buf + o, size - o, "\\t");
		else if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (h->n > h->nhead && o + 4 < size)
		o += (size_t)snprintf(buf + o, size - o, "...");
	buf[o < size ? o : size - 1] = 0;
}

static void report(struct held *h, const char *when)
{
	char name[200], text[HEAD_MAX * 4 + 8], site[160] = "", parent[64] = "its parent";
	h->done = 1;
	stream_name(h, name, sizeof name);
	quote(h, text, sizeof text);
	struct mpt__proc *me = mpt__procid_self();
	if (me && me->fork_site)
		mpt__site_text(me->fork_site, site, sizeof site);
	const char *parent_id = me ? mpt__proc_id(mpt__current, me->ppid) : NULL;
	if (parent_id)
		snprintf(parent, sizeof parent, "its parent %s", parent_id);
	const char *prog = me && me->prog[0] ? me->prog : program_invocation_short_name;
	char msg[768], detail[1024];
	snprintf(msg, sizeof msg,
		 "%s (pid %d, %s) wrote again %zu byte%s of %s that %s had buffered before "
		 "fork() (\"%s\"), %s: the output appears twice",
		 mpt__procid(), (int)getpid(), prog ? prog : "?", h->n, h->n == 1 ? "" : "s",
		 name, parent, text, when);
	const char *flush = h->fp == stdout ? "fflush(stdout)"
			    : h->fp == stderr ? "fflush(stderr)" : "fflush() this stream";
	snprintf(detail, sizeof detail,
		 "%s%s%s%s (or fflush(NULL)) before fork(), and end children with _exit().",
		 site[0] ? "Forked at " : "", site, site[0] ? ". " : "", flush);
	mpt__shim_finding(MPT__K_STDIO_DUPLICATE, msg, detail);
}

/* A point where the child's copy of h may reach the file: flushing says
 * whether it is being written now (fflush, exit) or dropped (_exit). */
static void check(struct held *h, int flushing, const char *when)
{
	if (h->done)
		return;
	if (still_pending(h)) {
		if (flushing && same_file(h))
			report(h, when);
		else
			h->done = 1;
		return;
	}
	report(h, "when its buffer filled up or the stream was closed");
}

/* Parent side: nothing to do. The child's copy of each buffer is the
 * precise record of what was pending at the instant of fork (another
 * thread of the parent may still write between here and fork). */
void mpt__stdio_fork_prepare(void) {}
void mpt__stdio_fork_parent(void) {}

/* In the new child, before it returns from fork(): a walk of the stream
 * list, memcpy and a hash; no allocation, no locks (the child has one
 * thread). */
void mpt__stdio_fork_child(void)
{
	nheld = 0;
	int k = 0;
	for (FILE *fp = _IO_list_all; fp && k < MAX_WALK && nheld < MAX_HELD;
	     fp = fp->_chain, k++) {
		/* Wide streams keep their output elsewhere; memory streams
		 * (no descriptor) write nothing anyone else sees. */
		if (fp->_fileno < 0 || fp->_mode > 0)
			continue;
		size_t n = __fpending(fp);
		struct file_id file;
		if (!n || !fp->_IO_write_base || file_id(fp->_fileno, &file) != 0)
			continue;
		struct held *h = &held[nheld++];
		h->file = file;
		h->fp = fp;
		h->base = fp->_IO_write_base;
		h->n = n;
		h->sum = fnv(h->base, n);
		h->fd = fp->_fileno;
		h->done = 0;
		h->nhead = n < HEAD_MAX ? n : HEAD_MAX;
		memcpy(h->head, h->base, h->nhead);
	}
}

void mpt__stdio_at_exit(int via_exit)
{
	/* First the threads check, so a threaded fork's child that ends with
	 * exit() is reported as calling exit(), and one that ends with
	 * _exit() is disarmed before the checks below allocate. */
	mpt__threads_at_exit(via_exit);
	if (!nheld)
		return;
	int e = errno;
	for (int i = 0; i < nheld; i++)
		check(&held[i], via_exit, "at exit()");
	nheld = 0;
	errno = e;
}

static void before_flush(FILE *fp, uintptr_t site)
{
	int e = errno;
	mpt__threads_unsafe("fflush", site);
	for (int i = 0; i < nheld; i++)
		if (!fp || held[i].fp == fp)
			check(&held[i], 1, "in fflush()");
	errno = e;
}

MPT__EXPORT int fflush(FILE *fp)
{
	if (mpt__shim_on())
		before_flush(fp, (uintptr_t)__builtin_return_address(0));
	return REAL(real_fflush, "fflush")(fp);
}

MPT__EXPORT int fflush_unlocked(FILE *fp)
{
	if (mpt__shim_on())
		before_flush(fp, (uintptr_t)__builtin_return_address(0));
	return REAL(real_fflush_unlocked, "fflush_unlocked")(fp);
}

/* glibc's fpurge (gnulib's fpurge calls it): the child drops its copy. */
MPT__EXPORT void __fpurge(FILE *fp)
{
	if (mpt__shim_on())
		for (int i = 0; i < nheld; i++)
			if (held[i].fp == fp)
				held[i].done = 1;
	REAL(real_fpurge, "__fpurge")(fp);
}
