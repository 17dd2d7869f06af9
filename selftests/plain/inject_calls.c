/* Plain programs (no libmptest) for the injectable calls beyond the first
 * set: sockets (socket, connect, accept, send, recv), vector I/O (writev),
 * the allocator (malloc, realloc), waitid and pthread_mutex_trylock.
 * argv[1] names the case; each buggy case has a correct twin that the same
 * --inject rule leaves passing. selftests/check_inject.c runs them under
 * mpt-run with the rules and asserts the verdicts and the fault lists. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

/* A listening AF_UNIX socket in the abstract namespace (no file). */
static int listener(struct sockaddr_un *a, socklen_t *len)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1,
			 "mptest-inject-calls-%d", (int)getpid());
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	if (bind(s, (struct sockaddr *)a, *len) < 0 || listen(s, 4) < 0)
		die("bind/listen");
	return s;
}

/* A client connects to a real listening socket, sends "ping", and the
 * server side (accept4, recv) checks it. connect:error=ECONNREFUSED:nth=1
 * fails the first attempt, as a server that is not up yet does; the
 * correct client retries. */
static int connects(int fixed)
{
	struct sockaddr_un a;
	socklen_t len;
	int ls = listener(&a, &len);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c < 0)
		die("socket");
	int r;
	if (fixed) {
		int tries = 0;
		while ((r = connect(c, (struct sockaddr *)&a, len)) < 0 &&
		       (errno == ECONNREFUSED || errno == EINTR || errno == EAGAIN) &&
		       ++tries < 50) {
			struct timespec t = {0, 1000000};
			nanosleep(&t, NULL);
		}
	} else {
		r = connect(c, (struct sockaddr *)&a, len); /* BUG: no retry */
	}
	if (r < 0) {
		fprintf(stderr, "connect: %s\n", strerror(errno));
		close(c);
		close(ls);
		return 1;
	}
	int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		die("accept4");
	if (send(c, "ping", 4, 0) != 4)
		die("send");
	char buf[4];
	ssize_t got = recv(s, buf, sizeof buf, MSG_WAITALL);
	close(c);
	close(s);
	close(ls);
	return got == 4 && !memcmp(buf, "ping", 4) ? 0 : 1;
}

/* A child sends "hello" on a socket pair; the parent receives it with one
 * recv. recv:error=EINTR:nth=1@p0 fails the parent's first recv. */
static int recvs(int fixed)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		close(sv[0]);
		_exit(send(sv[1], "hello", 5, 0) == 5 ? 0 : 1);
	}
	close(sv[1]);
	char buf[8];
	ssize_t r;
	if (fixed) {
		do
			r = recv(sv[0], buf, sizeof buf, 0);
		while (r < 0 && errno == EINTR);
	} else {
		r = recv(sv[0], buf, sizeof buf, 0); /* BUG: no retry */
	}
	if (r < 0)
		fprintf(stderr, "recv: %s\n", strerror(errno));
	close(sv[0]);
	int st;
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return r == 5 && !memcmp(buf, "hello", 5) ? 0 : 1;
}

/* recvfrom and recvmsg are counted as recv: "ab" then "cd" arrive, read
 * with recvfrom and then recvmsg, each retried on EINTR. */
static int recv_family(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		die("socketpair");
	if (sendto(sv[1], "ab", 2, 0, NULL, 0) != 2)
		die("sendto");
	struct iovec v = {(void *)"cd", 2};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
	if (sendmsg(sv[1], &m, 0) != 2)
		die("sendmsg");
	char a[4] = "", b[4] = "";
	ssize_t r;
	do
		r = recvfrom(sv[0], a, sizeof a, 0, NULL, NULL);
	while (r < 0 && errno == EINTR);
	if (r != 2)
		die("recvfrom");
	struct iovec in = {b, sizeof b};
	struct msghdr mi = {.msg_iov = &in, .msg_iovlen = 1};
	do
		r = recvmsg(sv[0], &mi, 0);
	while (r < 0 && errno == EINTR);
	if (r != 2)
		die("recvmsg");
	close(sv[0]);
	close(sv[1]);
	return memcmp(a, "ab", 2) || memcmp(b, "cd", 2);
}

/* The parent writes a 60-byte message in three pieces with writev to a
 * child that checks it got all of it. writev:short=7:nth=1@p0 makes the
 * first writev transfer 7 bytes. The caller's iovec array must come back
 * untouched either way. */
static int writevs(int fixed)
{
	char m1[10], m2[20], m3[30];
	memset(m1, 'a', sizeof m1);
	memset(m2, 'b', sizeof m2);
	memset(m3, 'c', sizeof m3);
	int fd[2];
	if (pipe(fd) < 0)
		die("pipe");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		close(fd[1]);
		char buf[128];
		size_t got = 0;
		ssize_t r;
		while ((r = read(fd[0], buf + got, sizeof buf - got)) > 0)
			got += (size_t)r;
		int ok = got == 60 && buf[0] == 'a' && buf[9] == 'a' && buf[10] == 'b' &&
			 buf[29] == 'b' && buf[30] == 'c' && buf[59] == 'c';
		if (!ok)
			fprintf(stderr, "reader: got %zu of 60 bytes\n", got);
		_exit(ok ? 0 : 1);
	}
	close(fd[0]);
	struct iovec iov[3] = {{m1, 10}, {m2, 20}, {m3, 30}};
	ssize_t w = writev(fd[1], iov, 3);
	if (w < 0)
		die("writev");
	if (iov[0].iov_len != 10 || iov[1].iov_len != 20 || iov[2].iov_len != 30 ||
	    iov[0].iov_base != m1 || iov[2].iov_base != m3) {
		fprintf(stderr, "writev changed the caller's iovec array\n");
		return 3;
	}
	if (fixed) {
		/* Go on from where it stopped, on a copy of the array. */
		struct iovec left[3];
		memcpy(left, iov, sizeof left);
		struct iovec *v = left;
		int n = 3;
		while (n > 0) {
			while (n > 0 && (size_t)w >= v->iov_len) {
				w -= (ssize_t)v->iov_len;
				v++;
				n--;
			}
			if (n == 0)
				break;
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
			do
				w = writev(fd[1], v, n);
			while (w < 0 && errno == EINTR);
			if (w < 0)
				die("writev");
		}
	} /* BUG otherwise: one writev is assumed to write everything */
	close(fd[1]);
	int st;
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* Three buffers; malloc:error=ENOMEM:nth=3@p0 fails the third. The buggy
 * version writes into it anyway (a NULL dereference: crash); the correct
 * one notices and does without. */
static volatile size_t sizes[3] = {64, 128, 256};

static int mallocs(int fixed)
{
	char *b[3];
	for (int i = 0; i < 3; i++) {
		b[i] = malloc(sizes[i]);
		if (fixed && !b[i]) {
			fprintf(stderr, "buffer %d: out of memory, continuing with %d\n", i, i);
			break;
		}
		memset(b[i], 'x', sizes[i]); /* BUG when not fixed: unchecked */
	}
	for (int i = 0; i < 3; i++)
		if (b[i] && (!fixed || i < 2))
			free(b[i]);
	return 0;
}

/* A growing buffer. realloc:error=ENOMEM:nth=2@p0 fails the second growth:
 * `p = realloc(p, n)` loses the block and uses NULL (crash); the correct
 * version keeps the old block and stops growing. */
static int reallocs(int fixed)
{
	char *p = malloc(16);
	if (!p)
		die("malloc");
	memset(p, 'x', 16);
	size_t n = 16;
	for (int i = 0; i < 4; i++) {
		size_t want = n * (size_t)sizes[0];
		if (fixed) {
			char *q = realloc(p, want);
			if (!q) {
				fprintf(stderr, "cannot grow past %zu bytes\n", n);
				break;
			}
			p = q;
		} else {
			p = realloc(p, want); /* BUG: NULL loses the block */
		}
		memset(p + n, 'y', want - n);
		n = want;
	}
	free(p);
	return 0;
}

/* A child exits 7; the parent collects it with waitid.
 * waitid:error=EINTR:nth=1@p0 interrupts the first waitid. */
static int waitids(int fixed)
{
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0)
		_exit(7);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int r;
	if (fixed) {
		do
			r = waitid(P_PID, (id_t)p, &si, WEXITED);
		while (r < 0 && errno == EINTR);
	} else {
		r = waitid(P_PID, (id_t)p, &si, WEXITED); /* BUG: no retry */
	}
	if (r < 0) {
		fprintf(stderr, "waitid: %s\n", strerror(errno));
		waitpid(p, NULL, 0);
		return 1;
	}
	return si.si_pid == p && si.si_status == 7 ? 0 : 1;
}

/* trylock first, lock if busy. pthread_mutex_trylock:error=EBUSY:nth=1@p0
 * makes the first trylock report the mutex busy: the buggy version takes
 * any nonzero result as "got it", and its unlock of an error-checking
 * mutex it does not hold fails. */
static int trylocks(int fixed)
{
	pthread_mutexattr_t at;
	pthread_mutex_t m;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m, &at);
	int r = pthread_mutex_trylock(&m);
	if (fixed && r == EBUSY)
		r = pthread_mutex_lock(&m);
	/* BUG when not fixed: r is ignored, the lock assumed held. */
	int u = pthread_mutex_unlock(&m);
	pthread_mutex_destroy(&m);
	if (u != 0) {
		fprintf(stderr, "unlock: %s\n", strerror(u));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	size_t n = strlen(c);
	int fixed = n > 6 && !strcmp(c + n - 6, "-fixed");
	if (!strncmp(c, "connect", 7))
		return connects(fixed);
	if (!strcmp(c, "recv-family"))
		return recv_family();
	if (!strncmp(c, "recv", 4))
		return recvs(fixed);
	if (!strncmp(c, "writev", 6))
		return writevs(fixed);
	if (!strncmp(c, "malloc", 6))
		return mallocs(fixed);
	if (!strncmp(c, "realloc", 7))
		return reallocs(fixed);
	if (!strncmp(c, "waitid", 6))
		return waitids(fixed);
	if (!strncmp(c, "trylock", 7))
		return trylocks(fixed);
	fprintf(stderr, "usage: inject_calls CASE\n");
	return 2;
}
