#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
	static const char msg[] = "mptest: out of memory\n";
	ssize_t r = write(2, msg, sizeof msg - 1);
	(void)r;
	_exit(99);
}

void *mpt__xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *mpt__xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		oom();
	return p;
}

void *mpt__xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *mpt__xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		oom();
	return p;
}

char *mpt__xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	int r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return p;
}

int mpt__parse_duration(const char *s, int64_t *ns, const char **why)
{
	static const char expect[] =
		"a positive duration such as 30s, 250ms, 1.5s, 2m, 100us";
	*why = expect;
	if (!s || !*s)
		return -1;
	const char *p = s;
	double v = 0;
	int digits = 0;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		digits++;
		if (v > 1e12)
			return -1;
	}
	if (*p == '.') {
		double scale = 0.1;
		p++;
		while (*p >= '0' && *p <= '9') {
			v += (*p++ - '0') * scale;
			scale /= 10;
			digits++;
		}
	}
	if (!digits)
		return -1;
	double mult;
	if (!*p || !strcmp(p, "s"))
		mult = 1e9;
	else if (!strcmp(p, "ms"))
		mult = 1e6;
	else if (!strcmp(p, "us"))
		mult = 1e3;
	else if (!strcmp(p, "ns"))
		mult = 1;
	else if (!strcmp(p, "m"))
		mult = 60e9;
	else if (!strcmp(p, "h"))
		mult = 3600e9;
	else
		return -1;
	double r = v * mult;
	if (r < 1 || r > 1e18)
		return -1;
	*ns = (int64_t)(r + 0.5);
	return 0;
}

int mpt__parse_uint(const char *s, unsigned long long min,
		    unsigned long long max, unsigned long long *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	unsigned long long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

int64_t mpt__now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void mpt__size_text(unsigned long long v, char *buf, size_t size)
{
	static const char units[] = "KMG";
	int u = -1;
	while (u < 2 && v && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, size, "%llu", v);
	else
		snprintf(buf, size, "%llu%c", v, units[u]);
}

void mpt__buf_add(struct mpt__buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = mpt__xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
}

void mpt__buf_puts(struct mpt__buf *b, const char *s)
{
	mpt__buf_add(b, s, strlen(s));
}

void mpt__buf_printf(struct mpt__buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		mpt__buf_add(b, small, (size_t)n);
		return;
	}
	char *big = mpt__xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	mpt__buf_add(b, big, (size_t)n);
	free(big);
}

void mpt__buf_free(struct mpt__buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

const char *mpt__signal_name(int sig, char buf[16])
{
	const char *abbrev = sigabbrev_np(sig);
	if (abbrev) {
		snprintf(buf, 16, "SIG%s", abbrev);
		return buf;
	}
	snprintf(buf, 16, "signal %d", sig);
	return buf;
}

int mpt__core_signal(int sig)
{
	switch (sig) {
	case SIGSEGV: case SIGABRT: case SIGBUS: case SIGFPE: case SIGILL:
	case SIGQUIT: case SIGSYS: case SIGTRAP: case SIGXCPU: case SIGXFSZ:
		return 1;
	}
	return 0;
}

const char *mpt__errno_name(int err)
{
	return strerrorname_np(err);
}

ssize_t mpt__read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len + 1 < size) {
		ssize_t r = read(fd, buf + len, size - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

char mpt__proc_state(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (mpt__read_file(path, buf, sizeof buf) <= 0)
		return 0;
	const char *rp = strrchr(buf, ')'); /* the name may hold anything */
	return rp && rp[1] ? rp[2] : 0;
}

void mpt__proc_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	ssize_t n = mpt__read_file(path, buf, size);
	if (n <= 0) {
		snprintf(buf, size, "?");
		return;
	}
	if (buf[n - 1] == '\n')
		buf[n - 1] = 0;
}

/* The process's umask, read without changing it where /proc says it. */
static mode_t current_umask(void)
{
	char buf[2048];
	if (mpt__read_file("/proc/self/status", buf, sizeof buf) > 0) {
		const char *u = strstr(buf, "\nUmask:");
		if (u)
			return (mode_t)strtoul(u + 8, NULL, 8) & 0777;
	}
	mode_t m = umask(022);
	umask(m);
	return m;
}

int mpt__write_target(const char *path)
{
	static const char *const fdnames[] = {"/dev/fd/", "/proc/self/fd/"};
	if (!strcmp(path, "/dev/stdout"))
		return 1;
	if (!strcmp(path, "/dev/stderr"))
		return 2;
	for (size_t i = 0; i < sizeof fdnames / sizeof fdnames[0]; i++) {
		size_t n = strlen(fdnames[i]);
		unsigned long long fd;
		if (!strncmp(path, fdnames[i], n) && !mpt__parse_uint(path + n, 0, INT_MAX, &fd))
			return (int)fd;
	}
	struct stat st;
	if (lstat(path, &st) < 0 || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) ||
	    S_ISDIR(st.st_mode))
		return MPT__TARGET_FILE;
	return S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) ? MPT__TARGET_DIRECT
							    : MPT__TARGET_OTHER;
}

/* fn's text into f, then f closed: 0, or -1 with errno from the first
 * thing that failed. */
static int write_and_close(FILE *f, int (*fn)(FILE *f, void *arg), void *arg)
{
	int rc = fn(f, arg);
	if (fflush(f) != 0 || ferror(f))
		rc = -1;
	int e = errno;
	if (fclose(f) != 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	errno = e;
	return rc;
}

/* Writes through fd (a dup of it, so that it stays open), or -1. */
static int write_in_place(int fd, int (*fn)(FILE *f, void *arg), void *arg)
{
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "we");
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return write_and_close(f, fn, arg);
}

int mpt__write_atomic(const char *path, int (*fn)(FILE *f, void *arg), void *arg)
{
	int target = mpt__write_target(path);
	if (target >= 0) {
		/* What this process wrote there so far goes first. */
		fflush(target == 1 ? stdout : target == 2 ? stderr : NULL);
		return write_in_place(fcntl(target, F_DUPFD_CLOEXEC, 3), fn, arg);
	}
	if (target == MPT__TARGET_DIRECT)
		return write_in_place(open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY), fn, arg);
	if (target == MPT__TARGET_OTHER) {
		errno = EINVAL;
		return -1;
	}
	char *copy = mpt__xstrdup(path);
	char *tmp = mpt__xasprintf("%s/.%s.XXXXXX", dirname(copy),
				   strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	free(copy);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	/* 0644 like any report (mkostemp made it 0600), narrowed by a
	 * stricter umask but never widened by a looser one. */
	fchmod(fd, 0644 & ~current_umask());
	FILE *f = fdopen(fd, "we");
	if (!f) {
		int e = errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	int rc = write_and_close(f, fn, arg), e = errno;
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -1;
		e = errno;
	}
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	errno = e;
	return rc;
}
