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
#include <poll.h>
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

/* HAZARDS.md, row 8, as a worker pool: the workers inherit the write end
 * of the job pipe and never close it, so none of them sees end of file
 * once the jobs are read. Each reads a pipe the others (and itself) could
 * write: not a ring of readers, but readers holding the write end. */
MPT_TEST(deadlock, pool_keeps_write_end, .timeout_ms = 20000)
{
	int jobs[2];
	MPT_ASSERT_OK(pipe(jobs));
	pid_t w[3];
	for (int i = 0; i < 3; i++) {
		w[i] = MPT_ASSERT_OK(fork());
		if (w[i] == 0) {
			/* Bug: jobs[1] is still open here. */
			char c;
			while (read(jobs[0], &c, 1) > 0)
				;
			_exit(0);
		}
	}
	close(jobs[0]);
	for (int i = 0; i < 6; i++)
		MPT_ASSERT_EQ(write(jobs[1], "j", 1), 1);
	close(jobs[1]);
	for (int i = 0; i < 3; i++)
		waitpid(w[i], NULL, 0);
}

/* HAZARDS.md, row 11: fork() while another thread holds a private mutex;
 * the child's copy of the mutex stays locked, for no thread of the child
 * will ever unlock it. The holder thread then waits forever itself, so
 * that the whole tree is blocked. */
static pthread_mutex_t row11_lock = PTHREAD_MUTEX_INITIALIZER;
static int row11_pipe[2];
static atomic_int row11_held;

static void *row11_holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&row11_lock);
	atomic_store(&row11_held, 1);
	char c;
	/* Reads a pipe only this process could write: never returns. */
	while (read(row11_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	pthread_mutex_unlock(&row11_lock);
	return NULL;
}

MPT_TEST(deadlock, fork_while_thread_holds_lock, .timeout_ms = 20000,
	 .allow = MPT_ALLOW_FORK_WITH_THREADS)
{
	MPT_ASSERT_OK(pipe(row11_pipe));
	pthread_t t;
	MPT_ASSERT_EQ(pthread_create(&t, NULL, row11_holder, NULL), 0);
	while (!atomic_load(&row11_held))
		usleep(1000);
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		pthread_mutex_lock(&row11_lock); /* bug: held by a thread the child lacks */
		pthread_mutex_unlock(&row11_lock);
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

/* fcntl() record locks: the child locks the file and then waits for a
 * signal nobody sends; the parent asks for the same range. */
MPT_TEST(deadlock, fcntl_holder_sleeps, .timeout_ms = 20000)
{
	char path[] = "/tmp/mpt-deadlock-XXXXXX";
	int fd = MPT_ASSERT_OK(mkstemp(path));
	int ready[2];
	MPT_ASSERT_OK(pipe(ready));
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		MPT_ASSERT_OK(fcntl(fd, F_SETLKW, &l));
		MPT_ASSERT_EQ(write(ready[1], "x", 1), 1);
		for (;;)
			pause();
	}
	char c;
	MPT_ASSERT_EQ(read(ready[0], &c, 1), 1);
	unlink(path);
	struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	fcntl(fd, F_SETLKW, &l); /* the child holds it: blocks */
	waitpid(p, NULL, 0);
}

/* ---- slow-but-moving twins of the deadlocks above ------------------------ */

/* The self-pipe idiom: the worker reads its own pipe, whose write end it
 * holds, until its SIGTERM handler writes to it. The parent sends the
 * signal after a while. */
static int self_pipe[2];

static void on_term(int sig)
{
	(void)sig;
	int e = errno;
	if (write(self_pipe[1], "t", 1) < 0) {
		/* nothing to do in a handler */
	}
	errno = e;
}

MPT_TEST(slow, self_pipe_signal, .timeout_ms = 20000)
{
	int ready[2];
	MPT_ASSERT_OK(pipe(ready));
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		MPT_ASSERT_OK(pipe(self_pipe));
		struct sigaction sa = {.sa_handler = on_term};
		MPT_ASSERT_OK(sigaction(SIGTERM, &sa, NULL));
		MPT_ASSERT_EQ(write(ready[1], "r", 1), 1);
		char c;
		ssize_t n;
		while ((n = read(self_pipe[0], &c, 1)) < 0 && errno == EINTR)
			;
		_exit(n == 1 ? 0 : 1);
	}
	char c;
	MPT_ASSERT_EQ(read(ready[0], &c, 1), 1);
	sleep(1);
	MPT_ASSERT_OK(kill(p, SIGTERM));
	mpt_wait_exited(p, 0);
	close(ready[0]);
	close(ready[1]);
}

/* alarm() with the default action: the child waits in pause() until its
 * own SIGALRM ends it, and the parent expects exactly that. */
MPT_TEST(slow, alarm_ends_the_child, .timeout_ms = 20000)
{
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		alarm(1);
		for (;;)
			pause();
	}
	mpt_wait_signaled(p, SIGALRM);
}

/* The mutex holder releases it after a while. */
MPT_TEST(slow, mutex_released_late, .timeout_ms = 20000)
{
	struct two_locks *s = shared(sizeof *s);
	pthread_mutexattr_t at;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&s->a, &at);
	pid_t p1 = MPT_ASSERT_OK(fork());
	if (p1 == 0) {
		pthread_mutex_lock(&s->a);
		atomic_store(&s->holding, 1);
		sleep(1);
		pthread_mutex_unlock(&s->a);
		_exit(0);
	}
	while (!atomic_load(&s->holding))
		usleep(1000);
	pid_t p2 = MPT_ASSERT_OK(fork());
	if (p2 == 0) {
		pthread_mutex_lock(&s->a);
		pthread_mutex_unlock(&s->a);
		_exit(0);
	}
	mpt_wait_exited(p1, 0);
	mpt_wait_exited(p2, 0);
}

/* The poster posts, late. */
MPT_TEST(slow, sem_posted_late, .timeout_ms = 20000)
{
	sem_t *sem = shared(sizeof *sem);
	MPT_ASSERT_OK(sem_init(sem, 1, 0));
	pid_t poster = MPT_ASSERT_OK(fork());
	if (poster == 0) {
		sleep(1);
		MPT_ASSERT_OK(sem_post(sem));
		_exit(0);
	}
	pid_t waiter = MPT_ASSERT_OK(fork());
	if (waiter == 0) {
		while (sem_wait(sem) < 0)
			;
		_exit(0);
	}
	mpt_wait_exited(poster, 0);
	mpt_wait_exited(waiter, 0);
}

/* The lock holder sleeps, then lets go: flock() and fcntl() alike. */
static void file_lock_released_late(int use_fcntl)
{
	char path[] = "/tmp/mpt-slow-XXXXXX";
	int fd = MPT_ASSERT_OK(mkstemp(path));
	int ready[2];
	MPT_ASSERT_OK(pipe(ready));
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		int mine = open(path, O_RDWR);
		MPT_ASSERT(mine >= 0);
		struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		MPT_ASSERT_OK(use_fcntl ? fcntl(mine, F_SETLKW, &l) : flock(mine, LOCK_EX));
		MPT_ASSERT_EQ(write(ready[1], "x", 1), 1);
		sleep(1);
		close(mine);
		_exit(0);
	}
	char c;
	MPT_ASSERT_EQ(read(ready[0], &c, 1), 1);
	unlink(path);
	struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	MPT_ASSERT_OK(use_fcntl ? fcntl(fd, F_SETLKW, &l) : flock(fd, LOCK_EX));
	close(fd);
	close(ready[0]);
	close(ready[1]);
	mpt_wait_exited(p, 0);
}

MPT_TEST(slow, flock_released_late, .timeout_ms = 20000)
{
	file_lock_released_late(0);
}

MPT_TEST(slow, fcntl_released_late, .timeout_ms = 20000)
{
	file_lock_released_late(1);
}

/* Both sides read first, but one of them gives up waiting and writes. */
MPT_TEST(slow, one_side_writes_late, .timeout_ms = 20000)
{
	int down[2], up[2];
	MPT_ASSERT_OK(pipe(down));
	MPT_ASSERT_OK(pipe(up));
	pid_t p = MPT_ASSERT_OK(fork());
	char buf[64];
	if (p == 0) {
		close(down[1]);
		close(up[0]);
		sleep(1);
		MPT_ASSERT_EQ(write(up[1], "pong", 4), 4);
		MPT_ASSERT_EQ(read(down[0], buf, sizeof buf), 4);
		_exit(0);
	}
	close(down[0]);
	close(up[1]);
	MPT_ASSERT_EQ(read(up[0], buf, sizeof buf), 4);
	MPT_ASSERT_EQ(write(down[1], "ping", 4), 4);
	close(up[0]);
	close(down[1]);
	mpt_wait_exited(p, 0);
}

/* poll() with a timeout on a pipe only the poller could write: a wait
 * with a timeout is never stuck. */
MPT_TEST(slow, poll_with_timeout, .timeout_ms = 20000)
{
	int fd[2];
	MPT_ASSERT_OK(pipe(fd));
	struct pollfd p = {.fd = fd[0], .events = POLLIN};
	MPT_ASSERT_EQ(poll(&p, 1, 1000), 0);
	close(fd[0]);
	close(fd[1]);
}

/* Row 8 again with forty workers: the report names each process once and
 * groups those that wait alike, rather than growing with the square of
 * their number. */
MPT_TEST(deadlock, many_workers_keep_write_end, .timeout_ms = 20000)
{
	int jobs[2];
	MPT_ASSERT_OK(pipe(jobs));
	pid_t w[40];
	for (int i = 0; i < 40; i++) {
		w[i] = MPT_ASSERT_OK(fork());
		if (w[i] == 0) {
			char c;
			while (read(jobs[0], &c, 1) > 0) /* bug: jobs[1] still open */
				;
			_exit(0);
		}
	}
	for (int i = 0; i < 40; i++)
		waitpid(w[i], NULL, 0);
}

/* Slow but moving: the waker is a process outside the test's tree
 * (selftests/check_deadlock.c starts it and names the objects in
 * MPT_SELFTEST_SHM). It holds a process-shared mutex in shm_open() memory
 * for a while, then posts a named semaphore: no process of the tree can
 * end either wait, yet both end. */
MPT_TEST(outside, waker_outside_the_tree, .timeout_ms = 20000)
{
	const char *name = getenv("MPT_SELFTEST_SHM");
	if (!name)
		MPT_SKIP("needs the outside process of check_deadlock (MPT_SELFTEST_SHM)");
	int fd = shm_open(name, O_RDWR, 0);
	MPT_ASSERT(fd >= 0);
	pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	MPT_ASSERT(m != MAP_FAILED);
	close(fd);
	MPT_ASSERT_EQ(pthread_mutex_lock(m), 0);
	MPT_ASSERT_EQ(pthread_mutex_unlock(m), 0);
	munmap(m, sizeof *m);
	char sname[128];
	snprintf(sname, sizeof sname, "%s-sem", name);
	sem_t *s = sem_open(sname, 0);
	MPT_ASSERT(s != SEM_FAILED);
	while (sem_wait(s) < 0)
		MPT_ASSERT_EQ(errno, EINTR);
	/* Handed back: the shim reads a unit taken and never posted by a
	 * process of the test as a semaphore held (lock-held). */
	MPT_ASSERT_OK(sem_post(s));
	sem_close(s);
}
