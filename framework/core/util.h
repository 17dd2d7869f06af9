/* Small helpers shared by the runner, the reports and the CLI. */
#ifndef MPT_UTIL_H
#define MPT_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

/* Allocation that cannot fail: on exhaustion the process says so and exits
 * with the internal-error code. */
void *mpt__xmalloc(size_t n);
void *mpt__xcalloc(size_t n, size_t m);
void *mpt__xrealloc(void *p, size_t n);
char *mpt__xstrdup(const char *s);
char *mpt__xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a duration: "30", "30s", "1.5s", "250ms", "2m", "100us", "1h".
 * A bare number is seconds.  Returns 0 and the value in nanoseconds, or -1
 * with *why set to what was expected. */
int mpt__parse_duration(const char *s, int64_t *ns, const char **why);

/* Parses a non-negative decimal integer in [min, max]; 0 or -1. */
int mpt__parse_uint(const char *s, unsigned long long min,
		    unsigned long long max, unsigned long long *out);

/* Monotonic clock in nanoseconds. */
int64_t mpt__now_ns(void);
/* A byte count as --max-memory takes it: "64M" when it divides evenly into
 * K, M or G, else plain bytes. */
void mpt__size_text(unsigned long long v, char *buf, size_t size);

/* A growable byte buffer. */
struct mpt__buf {
	char *p;
	size_t len, cap;
};
void mpt__buf_add(struct mpt__buf *b, const void *data, size_t n);
void mpt__buf_puts(struct mpt__buf *b, const char *s);
void mpt__buf_printf(struct mpt__buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mpt__buf_free(struct mpt__buf *b);

/* The name of a signal ("SIGSEGV"), or "signal N". */
const char *mpt__signal_name(int sig, char buf[16]);
/* Whether sig's default action dumps core (SIGSEGV, SIGABRT, ...): a
 * process killed by one of them crashed. */
int mpt__core_signal(int sig);
/* The symbolic name of an errno value ("ENOENT"), or NULL. */
const char *mpt__errno_name(int err);

/* Reads a small file whole (e.g. under /proc) into buf; returns the length
 * or -1. The result is NUL-terminated. */
ssize_t mpt__read_file(const char *path, char *buf, size_t size);

/* The process's state letter from /proc/PID/stat ('R', 'S', 'T', 'Z',
 * ...), or 0 when it is gone. */
char mpt__proc_state(pid_t pid);

/* The process's short name from /proc/PID/comm, or "?". */
void mpt__proc_comm(pid_t pid, char *buf, size_t size);

/* How mpt__write_atomic writes path: a descriptor number >= 0 for
 * /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N (written to the
 * process's own descriptor, where it stands); MPT__TARGET_DIRECT for an
 * existing FIFO or character device (opened and written in place: a
 * FIFO's reader sees the report, /dev/null takes it); MPT__TARGET_OTHER
 * for an existing file of another type (a socket, a block device), which
 * is not written; else MPT__TARGET_FILE. */
enum { MPT__TARGET_FILE = -1, MPT__TARGET_DIRECT = -2, MPT__TARGET_OTHER = -3 };
int mpt__write_target(const char *path);

/* Writes a file atomically: fn writes to a temporary file in the same
 * directory, which is renamed over path when fn returns 0 (a reader never
 * sees half a report, a failure leaves no partial file, and a symlink at
 * path is replaced, not followed). Mode 0644, or less under a stricter
 * umask. Targets that are not files (mpt__write_target) are written in
 * place, not atomically. Returns 0, or -1 with errno. */
int mpt__write_atomic(const char *path, int (*fn)(FILE *f, void *arg),
		      void *arg);

#endif
