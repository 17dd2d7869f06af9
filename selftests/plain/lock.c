/* Plain programs (no libmptest) for the lock hygiene checks under mpt-run:
 * argv[1] names the case; each buggy case has a fixed twin, and the
 * precision cases are correct programs that must get no finding.
 * selftests/check_lock.c asserts the verdicts.
 *
 * `bench private|shared [N]` times N uncontended lock/unlock pairs (10M by
 * default) and prints ns per pair: run it bare and under mpt-run to see
 * what the shim costs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void *shared(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static pthread_mutex_t *shared_mutex(int robust)
{
	pthread_mutex_t *m = shared(sizeof *m);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (robust)
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pthread_mutex_init(m, &a) != 0)
		die("pthread_mutex_init");
	return m;
}

static void wait_for(pid_t p)
{
	int st;
	if (waitpid(p, &st, 0) != p)
		die("waitpid");
}

/* Forks a child that runs fn(arg), says so over a pipe and sleeps until it
 * is killed; returns once fn has run. */
static pid_t start_holder(void (*fn)(void *), void *arg)
{
	int fd[2];
	if (pipe(fd) < 0)
		die("pipe");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		close(fd[0]);
		fn(arg);
		if (write(fd[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fd[1]);
	char c;
	if (read(fd[0], &c, 1) != 1)
		die("read");
	close(fd[0]);
	return p;
}

static void lock_it(void *m)
{
	if (pthread_mutex_lock(m) != 0)
		_exit(3);
}

/* A worker leaves through exit() inside its critical section. */
static int mutex_exit(int fixed)
{
	pthread_mutex_t *m = shared_mutex(0);
	pid_t p = fork();
	if (p == 0) {
		if (pthread_mutex_lock(m) != 0)
			_exit(3);
		if (fixed)
			pthread_mutex_unlock(m);
		exit(0);
	}
	wait_for(p);
	if (fixed && (pthread_mutex_lock(m) != 0 || pthread_mutex_unlock(m) != 0))
		return 1;
	return 0;
}

/* HAZARDS row 6: the parent kills a worker that holds the mutex. The fix
 * makes the mutex robust and recovers it. */
static int mutex_killed(int fixed)
{
	pthread_mutex_t *m = shared_mutex(fixed);
	pid_t p = start_holder(lock_it, m);
	kill(p, SIGKILL);
	wait_for(p);
	if (fixed) {
		if (pthread_mutex_lock(m) != EOWNERDEAD || pthread_mutex_consistent(m) != 0)
			return 1;
		pthread_mutex_unlock(m);
	}
	return 0;
}

/* A binary semaphore used as a lock; the buggy child returns early. */
static int sem_exit(int fixed)
{
	sem_t *s = shared(sizeof *s);
	if (sem_init(s, 1, 1) < 0)
		die("sem_init");
	pid_t p = fork();
	if (p == 0) {
		if (sem_wait(s) < 0)
			_exit(3);
		if (fixed)
			sem_post(s);
		_exit(0);
	}
	wait_for(p);
	return 0;
}

/* Precision: a bounded buffer between a producer and a consumer. */
static int prodcons(void)
{
	struct {
		sem_t items, spaces;
		int slot[2];
		unsigned head, tail;
	} *q = shared(sizeof *q);
	if (sem_init(&q->items, 1, 0) < 0 || sem_init(&q->spaces, 1, 2) < 0)
		die("sem_init");
	pid_t prod = fork();
	if (prod == 0) {
		for (int i = 0; i < 300; i++) {
			while (sem_wait(&q->spaces) < 0)
				;
			q->slot[q->head++ % 2] = i;
			sem_post(&q->items);
		}
		_exit(0);
	}
	pid_t cons = fork();
	if (cons == 0) {
		for (int i = 0; i < 300; i++) {
			while (sem_wait(&q->items) < 0)
				;
			if (q->slot[q->tail++ % 2] != i)
				_exit(1);
			sem_post(&q->spaces);
		}
		_exit(0);
	}
	wait_for(prod);
	wait_for(cons);
	return 0;
}

static char lock_path[64];

static int open_lock_file(void)
{
	int fd = open(lock_path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open");
	return fd;
}

static void flock_it(void *arg)
{
	(void)arg;
	if (flock(open_lock_file(), LOCK_EX) < 0)
		_exit(3);
}

static void lockf_it(void *arg)
{
	(void)arg;
	if (lockf(open_lock_file(), F_LOCK, 0) < 0)
		_exit(3);
}

static void fcntl_it(void *arg)
{
	(void)arg;
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
	if (fcntl(open_lock_file(), F_SETLK, &fl) < 0)
		_exit(3);
}

/* A worker keeps its lock file locked past the end of the test (run with
 * --allow=leaked-process to see the lock alone). */
static int file_lock(void (*fn)(void *), int fixed)
{
	snprintf(lock_path, sizeof lock_path, "/tmp/mpt-plain-lock-XXXXXX");
	int fd = mkstemp(lock_path);
	if (fd < 0)
		die("mkstemp");
	close(fd);
	if (fixed) {
		pid_t p = fork();
		if (p == 0) {
			fd = open_lock_file();
			if (flock(fd, LOCK_EX) < 0 || flock(fd, LOCK_UN) < 0)
				_exit(3);
			_exit(0);
		}
		wait_for(p);
	} else {
		start_holder(fn, NULL);
	}
	unlink(lock_path);
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench(const char *which, long n)
{
	static pthread_mutex_t private_mutex = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_t *m = !strcmp(which, "shared") ? shared_mutex(0) : &private_mutex;
	double t = now();
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(m);
		__asm__ volatile("" ::: "memory");
		pthread_mutex_unlock(m);
	}
	t = now() - t;
	printf("%s: %ld lock/unlock pairs in %.3f s, %.2f ns per pair\n", which, n, t,
	       t * 1e9 / (double)n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "mutex-exit"))
		return mutex_exit(0);
	if (!strcmp(c, "mutex-exit-fixed"))
		return mutex_exit(1);
	if (!strcmp(c, "mutex-killed"))
		return mutex_killed(0);
	if (!strcmp(c, "mutex-killed-fixed"))
		return mutex_killed(1);
	if (!strcmp(c, "sem-exit"))
		return sem_exit(0);
	if (!strcmp(c, "sem-exit-fixed"))
		return sem_exit(1);
	if (!strcmp(c, "prodcons"))
		return prodcons();
	if (!strcmp(c, "flock"))
		return file_lock(flock_it, 0);
	if (!strcmp(c, "flock-fixed"))
		return file_lock(flock_it, 1);
	if (!strcmp(c, "lockf"))
		return file_lock(lockf_it, 0);
	if (!strcmp(c, "fcntl"))
		return file_lock(fcntl_it, 0);
	if (!strcmp(c, "bench") && argc > 2)
		return bench(argv[2], argc > 3 ? atol(argv[3]) : 10000000L);
	fprintf(stderr, "usage: %s CASE (mutex-exit, mutex-killed, sem-exit, prodcons, "
		"flock, lockf, fcntl, each buggy case with -fixed; bench private|shared [N])\n",
		argv[0]);
	return 2;
}
