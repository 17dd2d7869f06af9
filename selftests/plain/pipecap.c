/* Plain programs (no libmptest) for --pipe-capacity below a page (HAZARDS
 * row 7): the shim emulates the capacity in write() and writev(), so a
 * parent that joins its child before it drains the pipe deadlocks with a
 * handful of bytes. argv[1] names the case, argv[2] a byte count (or, for
 * nonblock and signal, the capacity the run uses). Each program checks
 * what went through the pipe, byte by byte, and exits non-zero on any
 * difference. selftests/check_inject.c runs them under mpt-run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "pipecap: %s: %s\n", what, strerror(errno));
	exit(3);
}

/* Byte i of every payload: where it sits in the stream shows in it. */
static char pattern(size_t i)
{
	return (char)('a' + (i * 7 + i / 26) % 26);
}

static char *payload(size_t n)
{
	char *p = malloc(n ? n : 1);
	if (!p)
		die("malloc");
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(i);
	return p;
}

/* Whether buf holds bytes from..from+n-1 of the stream. */
static int intact(const char *buf, size_t from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != pattern(from + i)) {
			fprintf(stderr, "pipecap: byte %zu is '%c', not '%c'\n", from + i,
				buf[i], pattern(from + i));
			return 0;
		}
	return 1;
}

static int reap(pid_t p)
{
	int st;
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The child's side: all n bytes, with write() or with writev() in three
 * pieces; a blocking pipe write returns only when all of it went. */
static void send_all(int fd, size_t n, int vector)
{
	char *p = payload(n);
	size_t done = 0;
	while (done < n) {
		ssize_t w;
		if (vector) {
			size_t left = n - done, a = left / 3, b = left / 3;
			struct iovec v[3] = {{p + done, a}, {p + done + a, b},
					     {p + done + a + b, left - a - b}};
			w = writev(fd, v, 3);
		} else {
			w = write(fd, p + done, n - done);
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		done += (size_t)w;
	}
	free(p);
}

/* The parent's side: reads to end-of-file and checks every byte. */
static int drain_check(int fd, size_t n)
{
	char *buf = malloc(n + 64);
	if (!buf)
		die("malloc");
	size_t got = 0;
	ssize_t r;
	while ((r = read(fd, buf + got, n + 64 - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read");
		got += (size_t)r;
		if (got == n + 64)
			break;
	}
	int ok = got == n && intact(buf, 0, n);
	if (got != n)
		fprintf(stderr, "pipecap: read %zu bytes, not %zu\n", got, n);
	free(buf);
	return ok;
}

/* HAZARDS row 7: a child writes n bytes up a pipe; the parent waits for it
 * (join) before it reads (drain), or, fixed, the other way round. */
static int join_drain(size_t n, int fixed, int vector)
{
	int fd[2];
	if (pipe(fd) < 0)
		die("pipe");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		close(fd[0]);
		send_all(fd[1], n, vector);
		_exit(0);
	}
	close(fd[1]);
	int code = 0;
	if (!fixed)
		code = reap(p); /* BUG: joins before it drains */
	int ok = drain_check(fd[0], n);
	if (fixed)
		code = reap(p);
	close(fd[0]);
	return ok && code == 0 ? 0 : 1;
}

/* The fixed twin with a slow reader: one byte every 20 ms. The writer is
 * held back most of the time, yet the reader keeps draining: no deadlock. */
static int slow_drain(size_t n)
{
	int fd[2];
	if (pipe(fd) < 0)
		die("pipe");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		close(fd[0]);
		send_all(fd[1], n, 0);
		_exit(0);
	}
	close(fd[1]);
	char *buf = malloc(n + 1);
	if (!buf)
		die("malloc");
	size_t got = 0;
	ssize_t r;
	while (got <= n) {
		usleep(20000);
		if ((r = read(fd[0], buf + got, 1)) == 0)
			break;
		if (r < 0 && errno != EINTR)
			die("read");
		if (r > 0)
			got++;
	}
	int ok = got == n && intact(buf, 0, n);
	free(buf);
	close(fd[0]);
	return ok && reap(p) == 0 ? 0 : 1;
}

/* A poll() of the program's own, next to a held-back write: the parent
 * polls (POLLIN, no timeout) a pipe only the child could write to, while
 * the child's write to another pipe, which only the parent reads, is held
 * back. The report must show the parent's poll() as a poll and the
 * child's wait as a write. */
static int poll_in(size_t n)
{
	int a[2], b[2];
	if (pipe(a) < 0 || pipe(b) < 0)
		die("pipe");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		close(a[0]);
		close(b[0]);
		send_all(b[1], n, 0); /* nobody reads b before a is ready */
		close(a[1]);
		_exit(0);
	}
	close(a[1]);
	close(b[1]);
	struct pollfd pf = {.fd = a[0], .events = POLLIN};
	while (poll(&pf, 1, -1) < 0) /* BUG: waits for a before draining b */
		if (errno != EINTR)
			die("poll");
	int ok = drain_check(b[0], n);
	close(a[0]);
	close(b[0]);
	return ok && reap(p) == 0 ? 0 : 1;
}

/* The same over a named pipe (mkfifo), unlinked once both ends are open,
 * so that nobody else could still open it. */
static int fifo(size_t n, int fixed)
{
	char dir[] = "/tmp/mpt-pipecap-XXXXXX", path[64];
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(path, sizeof path, "%s/fifo", dir);
	if (mkfifo(path, 0600) < 0)
		die("mkfifo");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		int w = open(path, O_WRONLY | O_CLOEXEC);
		if (w < 0)
			_exit(2);
		send_all(w, n, 0);
		close(w);
		_exit(0);
	}
	int r = open(path, O_RDONLY | O_CLOEXEC);
	if (r < 0)
		die("open");
	unlink(path);
	rmdir(dir);
	int code = 0;
	if (!fixed)
		code = reap(p); /* BUG: joins before it drains */
	int ok = drain_check(r, n);
	if (fixed)
		code = reap(p);
	close(r);
	return ok && code == 0 ? 0 : 1;
}

/* A non-blocking writer at capacity cap (4 to 95; run with
 * --pipe-capacity=cap): a write that finds the emulated pipe full fails
 * with EAGAIN, one that finds some room writes what fits. */
static int nonblock(int cap)
{
	int fd[2];
	if (cap < 4 || cap > 95)
		return 2;
	if (pipe2(fd, O_NONBLOCK) < 0)
		die("pipe2");
	char *p = payload(100), buf[128];
	int bad = 0;
	ssize_t w = write(fd[1], p, 100);
	if (w != cap) {
		fprintf(stderr, "pipecap: write(100) gave %zd, not %d\n", w, cap);
		bad = 1;
	}
	w = write(fd[1], p + cap, 1);
	if (w != -1 || errno != EAGAIN) {
		fprintf(stderr, "pipecap: write to a full pipe gave %zd (%s), not EAGAIN\n",
			w, strerror(errno));
		bad = 1;
	}
	if (read(fd[0], buf, 4) != 4 || !intact(buf, 0, 4))
		bad = 1;
	/* Four bytes of room now: a short write. */
	w = write(fd[1], p + cap, (size_t)(100 - cap));
	if (w != 4) {
		fprintf(stderr, "pipecap: write with 4 bytes of room gave %zd\n", w);
		bad = 1;
	}
	struct iovec v[2] = {{p + cap + 4, 1}, {p + cap + 5, 1}};
	w = writev(fd[1], v, 2);
	if (w != -1 || errno != EAGAIN) {
		fprintf(stderr, "pipecap: writev to a full pipe gave %zd (%s), not EAGAIN\n",
			w, strerror(errno));
		bad = 1;
	}
	ssize_t r = read(fd[0], buf, sizeof buf);
	if (r != cap || !intact(buf, 4, (size_t)cap)) {
		fprintf(stderr, "pipecap: the pipe held %zd bytes, not %d\n", r, cap);
		bad = 1;
	}
	free(p);
	close(fd[0]);
	close(fd[1]);
	return bad;
}

/* Signals and a held-back write (run with --pipe-capacity=cap, cap 1 to
 * 20): the child's writes find the emulated pipe full and wait; the parent
 * sends SIGUSR1 once it sees the child waiting. As with a real pipe, a
 * write that had written some bytes returns their count, one that had not
 * fails with EINTR, and with SA_RESTART the write goes on and completes
 * once the parent drains the pipe. */
static atomic_int *step, *caught;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(caught, 1);
}

/* Whether pid waits in ppoll(), where the shim holds a write back. */
static int in_ppoll(pid_t pid)
{
	char path[64], buf[128];
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return atol(buf) == SYS_ppoll;
}

static void wait_for(pid_t pid, int s, int signals)
{
	int st;
	while (atomic_load(step) != s || atomic_load(caught) != signals || !in_ppoll(pid)) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "pipecap: the writer ended early (status %#x) at step %d\n",
				st, atomic_load(step));
			exit(1);
		}
		usleep(1000);
	}
}

static int signals(int cap)
{
	if (cap < 1 || cap > 20)
		return 2;
	atomic_int *shared = mmap(NULL, 2 * sizeof *shared, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		die("mmap");
	step = &shared[0];
	caught = &shared[1];
	int fd[2];
	if (pipe(fd) < 0)
		die("pipe");
	char *p = payload(64);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(fd[0]);
		struct sigaction sa = {.sa_handler = on_usr1};
		sigaction(SIGUSR1, &sa, NULL);
		atomic_store(step, 1);
		ssize_t w = write(fd[1], p, (size_t)cap + 10);
		if (w != cap)
			_exit(11); /* a short count: cap bytes went */
		atomic_store(step, 2);
		w = write(fd[1], p + cap, 5);
		if (w != -1 || errno != EINTR)
			_exit(12); /* nothing went: EINTR */
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
		atomic_store(step, 3);
		w = write(fd[1], p + cap, 5);
		if (w != 5)
			_exit(13); /* restarted, and completed */
		close(fd[1]);
		_exit(0);
	}
	close(fd[1]);
	wait_for(pid, 1, 0);
	kill(pid, SIGUSR1);
	wait_for(pid, 2, 1);
	kill(pid, SIGUSR1);
	wait_for(pid, 3, 2);
	kill(pid, SIGUSR1);
	wait_for(pid, 3, 3); /* waits again after the handler */
	int ok = drain_check(fd[0], (size_t)cap + 5);
	int code = reap(pid);
	if (code)
		fprintf(stderr, "pipecap: the writer exited with %d\n", code);
	close(fd[0]);
	free(p);
	munmap(shared, 2 * sizeof *shared);
	return ok && code == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
	if (!strcmp(c, "join"))
		return join_drain(n, 0, 0);
	if (!strcmp(c, "drain"))
		return join_drain(n, 1, 0);
	if (!strcmp(c, "join-writev"))
		return join_drain(n, 0, 1);
	if (!strcmp(c, "drain-writev"))
		return join_drain(n, 1, 1);
	if (!strcmp(c, "slow-drain"))
		return slow_drain(n);
	if (!strcmp(c, "poll-in"))
		return poll_in(n);
	if (!strcmp(c, "fifo"))
		return fifo(n, 0);
	if (!strcmp(c, "fifo-drain"))
		return fifo(n, 1);
	if (!strcmp(c, "nonblock"))
		return nonblock((int)n);
	if (!strcmp(c, "signal"))
		return signals((int)n);
	fprintf(stderr, "usage: %s join|drain|join-writev|drain-writev|fifo|fifo-drain "
			"|slow-drain|poll-in BYTES, or nonblock|signal CAPACITY\n", argv[0]);
	return 2;
}
