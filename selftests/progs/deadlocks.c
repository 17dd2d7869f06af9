/* Deadlocks and their slow-but-moving twins, for selftests/check_deadlock.c
 * and bench/deadlock-latency.sh.
 *
 * Each deadlock/ test really deadlocks: only the watchdog ends it, and its
 * generous timeout is there so a timeout can never pass for a verdict. Each
 * slow/ test blocks for a long while but always moves on, and must pass. */
#define _GNU_SOURCE
#include <mptest.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD (1000 * 1000)

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *shared(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	MPT_ASSERT(p != MAP_FAILED);
	return p;
}

/* The canonical deadlock (HAZARDS.md, row 7): the parent waits for the
 * child before reading what the child writes, and the child cannot finish
 * writing 1 MB into a 64 KiB pipe. The moment the parent enters waitpid()
 * goes to stderr, for bench/deadlock-latency.sh. */
MPT_TEST(deadlock, join_before_drain, .timeout_ms = 20000)
{
	long long start = mono_ns();
	int fd[2];
	MPT_ASSERT_OK(pipe(fd));
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		static char big[PAYLOAD];
		close(fd[0]);
		memset(big, 'x', sizeof big);
		/* As real code would: an assertion on the count, which a
		 * write cut short would fail. */
		MPT_ASSERT_EQ(write(fd[1], big, sizeof big), (ssize_t)sizeof big);
		_exit(0);
	}
	close(fd[1]);
	/* Let the child fill the pipe: the deadlock forms when its write
	 * blocks, and the parent's waitpid() closes the cycle. */
	usleep(20000);
	fprintf(stderr, "mpt-bench: body-start-ns=%lld waitpid-ns=%lld\n", start, mono_ns());
	mpt_wait_exited(p, 0);
	char buf[4096];
	while (read(fd[0], buf, sizeof buf) > 0)
		;
}

/* The fixed version: drain to EOF, then wait. */
MPT_TEST(slow, drain_before_join, .timeout_ms = 20000)
{
	int fd[2];
	MPT_ASSERT_OK(pipe(fd));
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		static char big[PAYLOAD];
		close(fd[0]);
		memset(big, 'x', sizeof big);
		ssize_t w = write(fd[1], big, sizeof big);
		_exit(w == (ssize_t)sizeof big ? 0 : 1);
	}
	close(fd[1]);
	char buf[4096];
	ssize_t n, total = 0;
	while ((n = read(fd[0], buf, sizeof buf)) > 0)
		total += n;
	MPT_ASSERT_EQ(total, PAYLOAD);
	close(fd[0]);
	mpt_wait_exited(p, 0);
}

/* HAZARDS.md, row 8: the reader keeps its own copy of the write end, so
 * end of file never comes once the child is done. */
MPT_TEST(deadlock, own_write_end, .timeout_ms = 20000)
{
	int fd[2];
	MPT_ASSERT_OK(pipe(fd));
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		close(fd[0]);
		MPT_ASSERT_EQ(write(fd[1], "hello", 5), 5);
		_exit(0);
	}
	/* Bug: fd[1] is still open here. */
	char buf[64];
	while (read(fd[0], buf, sizeof buf) > 0)
		;
	waitpid(p, NULL, 0);
}

/* Two processes, a pipe each way, and each reads before it writes. */
MPT_TEST(deadlock, both_read_first, .timeout_ms = 20000)
{
	int down[2], up[2];
	MPT_ASSERT_OK(pipe(down));
	MPT_ASSERT_OK(pipe(up));
	pid_t p = MPT_ASSERT_OK(fork());
	char buf[64];
	if (p == 0) {
		close(down[1]);
		close(up[0]);
		if (read(down[0], buf, sizeof buf) > 0)
			MPT_ASSERT_EQ(write(up[1], "pong", 4), 4);
		_exit(0);
	}
	close(down[0]);
	close(up[1]);
	if (read(up[0], buf, sizeof buf) > 0)
		MPT_ASSERT_EQ(write(down[1], "ping", 4), 4);
	waitpid(p, NULL, 0);
}

/* Two processes take two process-shared mutexes in opposite orders. */
struct two_locks {
	pthread_mutex_t a, b;
	atomic_int holding;
};

static void lock_in_order(struct two_locks *s, pthread_mutex_t *first, pthread_mutex_t *second)
{
	pthread_mutex_lock(first);
	atomic_fetch_add(&s->holding, 1);
	while (atomic_load(&s->holding) < 2)
		usleep(1000);
	pthread_mutex_lock(second);
	pthread_mutex_unlock(second);
	pthread_mutex_unlock(first);
}

MPT_TEST(deadlock, lock_order, .timeout_ms = 20000)
{
	struct two_locks *s = shared(sizeof *s);
	pthread_mutexattr_t at;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&s->a, &at);
	pthread_mutex_init(&s->b, &at);
	pid_t p1 = MPT_ASSERT_OK(fork());
	if (p1 == 0) {
		lock_in_order(s, &s->a, &s->b);
		_exit(0);
	}
	pid_t p2 = MPT_ASSERT_OK(fork());
	if (p2 == 0) {
		lock_in_order(s, &s->b, &s->a);
		_exit(0);
	}
	waitpid(p1, NULL, 0);
	waitpid(p2, NULL, 0);
}

/* The same inversion with home-made futex locks, which neither the shim's
 * lock table nor a mutex's owner field knows: only the rule "the whole
 * tree is blocked" can find it. */
struct raw_locks {
	atomic_int a;
	char pad1[60];
	atomic_int b;
	char pad2[60];
	atomic_int holding;
};

static void raw_lock(atomic_int *w)
{
	int c = 0;
	if (atomic_compare_exchange_strong(w, &c, 1))
		return;
	if (c != 2)
		c = atomic_exchange(w, 2);
	while (c != 0) {
		syscall(SYS_futex, w, FUTEX_WAIT, 2, NULL, NULL, 0);
		c = atomic_exchange(w, 2);
	}
}

static void raw_unlock(atomic_int *w)
{
	if (atomic_exchange(w, 0) == 2)
		syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void raw_in_order(struct raw_locks *s, atomic_int *first, atomic_int *second)
{
	raw_lock(first);
	atomic_fetch_add(&s->holding, 1);
	while (atomic_load(&s->holding) < 2)
		usleep(1000);
	raw_lock(second);
	raw_unlock(second);
	raw_unlock(first);
}

MPT_TEST(deadlock, futex_lock_order, .timeout_ms = 20000)
{
	struct raw_locks *s = shared(sizeof *s);
	pid_t p1 = MPT_ASSERT_OK(fork());
	if (p1 == 0) {
		raw_in_order(s, &s->a, &s->b);
		_exit(0);
	}
	pid_t p2 = MPT_ASSERT_OK(fork());
	if (p2 == 0) {
		raw_in_order(s, &s->b, &s->a);
		_exit(0);
	}
	waitpid(p1, NULL, 0);
	waitpid(p2, NULL, 0);
}

/* The process that should post the semaphore exits without posting; the
 * other waits for a post no live process will make. */
MPT_TEST(deadlock, sem_never_posted, .timeout_ms = 20000)
{
	sem_t *sem = shared(sizeof *sem);
	MPT_ASSERT_OK(sem_init(sem, 1, 0));
	pid_t poster = MPT_ASSERT_OK(fork());
	if (poster == 0)
		_exit(0); /* bug: returns before sem_post(sem) */
	pid_t waiter = MPT_ASSERT_OK(fork());
	if (waiter == 0) {
		while (sem_wait(sem) < 0)
			;
		_exit(0);
	}
	waitpid(poster, NULL, 0);
	waitpid(waiter, NULL, 0);
}

/* The child takes a file lock and then waits forever for a signal nobody
 * sends; the parent asks for the same lock. */
MPT_TEST(deadlock, flock_holder_sleeps, .timeout_ms = 20000)
{
	char path[] = "/tmp/mpt-deadlock-XXXXXX";
	int fd = MPT_ASSERT_OK(mkstemp(path));
	int ready[2];
	MPT_ASSERT_OK(pipe(ready));
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		int mine = open(path, O_RDWR);
		MPT_ASSERT(mine >= 0);
		MPT_ASSERT_OK(flock(mine, LOCK_EX));
		MPT_ASSERT_EQ(write(ready[1], "x", 1), 1);
		for (;;)
			pause();
	}
	char c;
	MPT_ASSERT_EQ(read(ready[0], &c, 1), 1);
	unlink(path);
	flock(fd, LOCK_EX); /* a different open file description: blocks */
	waitpid(p, NULL, 0);
}

/* Slow but moving: the child sleeps 2 s, then writes. */
MPT_TEST(slow, child_sleeps_then_writes, .timeout_ms = 20000)
{
	int fd[2];
	MPT_ASSERT_OK(pipe(fd));
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		close(fd[0]);
		sleep(2);
		MPT_ASSERT_EQ(write(fd[1], "late", 4), 4);
		_exit(0);
	}
	close(fd[1]);
	char buf[8];
	MPT_ASSERT_EQ(read(fd[0], buf, sizeof buf), 4);
	close(fd[0]);
	mpt_wait_exited(p, 0);
}

/* Slow but moving: a read nobody will satisfy, bounded by alarm(), the
 * classic timeout. /proc does not show alarms; catching SIGALRM is the
 * sign one may be pending. */
static void on_alarm(int sig)
{
	(void)sig;
}

MPT_TEST(slow, alarm_ends_the_read, .timeout_ms = 20000)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	MPT_ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	int fd[2];
	MPT_ASSERT_OK(pipe(fd));
	char c;
	alarm(1);
	MPT_ASSERT_EQ(read(fd[0], &c, 1), -1);
	MPT_ASSERT_EQ(errno, EINTR);
	close(fd[0]);
	close(fd[1]);
}

/* Slow but moving: the parent waits in waitpid() while the child
 * computes for about 1.5 s. */
MPT_TEST(slow, long_computation, .timeout_ms = 20000)
{
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		volatile unsigned long x = 0;
		long long end = mono_ns() + 1500000000LL;
		while (mono_ns() < end)
			for (int i = 0; i < 100000; i++)
				x += (unsigned long)i * 2654435761u;
		_exit(0);
	}
	mpt_wait_exited(p, 0);
}
