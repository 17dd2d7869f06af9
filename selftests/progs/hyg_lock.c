/* Lock hygiene through the API (HAZARDS rows 3 and 6): each buggy test has
 * a fixed twin that must get no finding. selftests/check_lock.c asserts
 * the verdicts. */
#define _GNU_SOURCE
#include <mptest.h>

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
#include <unistd.h>

static void *shared(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	MPT_ASSERT(p != MAP_FAILED);
	return p;
}

/* A process-shared mutex in shared memory; robust when asked. */
static pthread_mutex_t *shared_mutex(int robust)
{
	pthread_mutex_t *m = shared(sizeof *m);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (robust)
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	MPT_ASSERT_EQ(pthread_mutex_init(m, &a), 0);
	pthread_mutexattr_destroy(&a);
	return m;
}

/* Forks a child that runs fn(arg), says "ready" over a pipe and sleeps
 * until it is killed; returns once the child is ready. */
static pid_t start_holder(void (*fn)(void *), void *arg)
{
	int fd[2];
	MPT_ASSERT_OK(pipe(fd));
	pid_t p = MPT_ASSERT_OK(fork());
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
	MPT_ASSERT_EQ(read(fd[0], &c, 1), 1);
	close(fd[0]);
	return p;
}

static void lock_it(void *m)
{
	MPT_ASSERT_EQ(pthread_mutex_lock(m), 0);
}

/* ---- a mutex held when its holder exits --------------------------------- */

MPT_TEST(lock, mutex_exit_buggy)
{
	pthread_mutex_t *m = shared_mutex(0);
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		pthread_mutex_lock(m);
		/* bug: an early return path that forgets the unlock */
		_exit(0);
	}
	mpt_wait_exited(p, 0);
	MPT_ASSERT_EQ(pthread_mutex_trylock(m), EBUSY); /* locked for good */
}

/* Precision: several processes take turns correctly. */
MPT_TEST(lock, mutex_exit_fixed)
{
	pthread_mutex_t *m = shared_mutex(0);
	long *counter = shared(sizeof *counter);
	pid_t kids[4];
	for (int k = 0; k < 4; k++) {
		kids[k] = MPT_ASSERT_OK(fork());
		if (kids[k] == 0) {
			for (int i = 0; i < 2000; i++) {
				pthread_mutex_lock(m);
				++*counter;
				pthread_mutex_unlock(m);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++)
		mpt_wait_exited(kids[k], 0);
	MPT_ASSERT_EQ(*counter, 8000);
	MPT_ASSERT_EQ(pthread_mutex_trylock(m), 0);
	MPT_ASSERT_EQ(pthread_mutex_unlock(m), 0);
}

/* ---- HAZARDS row 6: a holder killed inside its critical section ---------- */

MPT_TEST(lock, mutex_killed_buggy)
{
	pthread_mutex_t *m = shared_mutex(0);
	pid_t p = start_holder(lock_it, m);
	kill(p, SIGKILL);
	mpt_wait_signaled(p, SIGKILL);
}

/* The fix for a holder that may die: a robust mutex, recovered. */
MPT_TEST(lock, mutex_killed_fixed)
{
	pthread_mutex_t *m = shared_mutex(1);
	pid_t p = start_holder(lock_it, m);
	kill(p, SIGKILL);
	mpt_wait_signaled(p, SIGKILL);
	MPT_ASSERT_EQ(pthread_mutex_lock(m), EOWNERDEAD);
	MPT_ASSERT_EQ(pthread_mutex_consistent(m), 0); /* the state is repaired */
	MPT_ASSERT_EQ(pthread_mutex_unlock(m), 0);
	MPT_ASSERT_EQ(pthread_mutex_lock(m), 0);
	MPT_ASSERT_EQ(pthread_mutex_unlock(m), 0);
}

/* A robust mutex whose next locker gets EOWNERDEAD and unlocks without
 * pthread_mutex_consistent(): the mutex is unusable from then on. */
MPT_TEST(lock, robust_unrecovered_buggy)
{
	pthread_mutex_t *m = shared_mutex(1);
	pid_t p = start_holder(lock_it, m);
	kill(p, SIGKILL);
	mpt_wait_signaled(p, SIGKILL);
	MPT_ASSERT_EQ(pthread_mutex_lock(m), EOWNERDEAD);
	MPT_ASSERT_EQ(pthread_mutex_unlock(m), 0);
	MPT_ASSERT_EQ(pthread_mutex_lock(m), ENOTRECOVERABLE);
}

/* A mutex still held by a live process when the test ends (the process
 * itself is allowed to be left over, to isolate the lock finding). */
MPT_TEST(lock, mutex_held_at_end, .allow = MPT_ALLOW_LEAKED_PROCESS)
{
	pthread_mutex_t *m = shared_mutex(0);
	start_holder(lock_it, m);
}

/* Whether pid is asleep (state S in /proc/PID/stat). */
static int sleeping(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	char *q = strrchr(buf, ')');
	return q && q[1] == ' ' && q[2] == 'S';
}

/* Precision: a worker killed while it waits on a condition does not hold
 * the mutex (the wait releases it inside libc). */
MPT_TEST(lock, cond_waiter_killed_clean)
{
	struct {
		pthread_mutex_t m;
		pthread_cond_t c;
		int waiting;
	} *s = shared(sizeof *s);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	MPT_ASSERT_EQ(pthread_mutex_init(&s->m, &a), 0);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	MPT_ASSERT_EQ(pthread_cond_init(&s->c, &ca), 0);
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		MPT_ASSERT_EQ(pthread_mutex_lock(&s->m), 0);
		__atomic_store_n(&s->waiting, 1, __ATOMIC_RELEASE);
		for (;;)
			pthread_cond_wait(&s->c, &s->m);
	}
	/* Once the flag is up, the child's only way to sleep is inside the
	 * wait. (Locking the mutex here to check would overwrite who holds
	 * it, and hide what this test is about.) */
	while (!__atomic_load_n(&s->waiting, __ATOMIC_ACQUIRE) || !sleeping(p))
		usleep(1000);
	kill(p, SIGKILL);
	mpt_wait_signaled(p, SIGKILL);
}

/* ---- semaphores ------------------------------------------------------------ */

static sem_t *shared_sem(unsigned value)
{
	sem_t *s = shared(sizeof *s);
	MPT_ASSERT_OK(sem_init(s, 1, value));
	return s;
}

/* A binary semaphore used as a lock; the child leaves on an error path
 * without posting it back. */
MPT_TEST(lock, sem_exit_buggy)
{
	sem_t *s = shared_sem(1);
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		sem_wait(s);
		_exit(1); /* bug: no sem_post() on this path */
	}
	mpt_wait_exited(p, 1);
	MPT_ASSERT_EQ(sem_trywait(s), -1); /* nobody gets it again */
}

MPT_TEST(lock, sem_exit_fixed)
{
	sem_t *s = shared_sem(1);
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		sem_wait(s);
		sem_post(s);
		_exit(1);
	}
	mpt_wait_exited(p, 1);
	MPT_ASSERT_OK(sem_trywait(s));
	MPT_ASSERT_OK(sem_post(s));
}

static void take_unit(void *s)
{
	MPT_ASSERT_OK(sem_wait(s));
}

MPT_TEST(lock, sem_killed_buggy)
{
	sem_t *s = shared_sem(1);
	pid_t p = start_holder(take_unit, s);
	kill(p, SIGKILL);
	mpt_wait_signaled(p, SIGKILL);
}

/* Precision: a producer and a consumer on a bounded buffer. The consumer
 * takes units of `items` it never posts back, by design. */
struct ring {
	sem_t items, spaces;
	int slot[4];
	unsigned head, tail;
};

MPT_TEST(lock, producer_consumer_clean)
{
	struct ring *q = shared(sizeof *q);
	MPT_ASSERT_OK(sem_init(&q->items, 1, 0));
	MPT_ASSERT_OK(sem_init(&q->spaces, 1, 4));
	pid_t prod = MPT_ASSERT_OK(fork());
	if (prod == 0) {
		for (int i = 1; i <= 500; i++) {
			while (sem_wait(&q->spaces) < 0)
				;
			q->slot[q->head++ % 4] = i;
			sem_post(&q->items);
		}
		_exit(0);
	}
	pid_t cons = MPT_ASSERT_OK(fork());
	if (cons == 0) {
		long sum = 0;
		for (int i = 1; i <= 500; i++) {
			while (sem_wait(&q->items) < 0)
				;
			sum += q->slot[q->tail++ % 4];
			sem_post(&q->spaces);
		}
		_exit(sum == 500L * 501 / 2 ? 0 : 1);
	}
	mpt_wait_exited(prod, 0);
	mpt_wait_exited(cons, 0);
}

/* ---- file locks ------------------------------------------------------------ */

static char lock_path[64];

static void flock_it(void *arg)
{
	(void)arg;
	int fd = open(lock_path, O_RDWR | O_CLOEXEC);
	MPT_ASSERT_OK(flock(fd, LOCK_EX));
}

static void make_lock_file(void)
{
	snprintf(lock_path, sizeof lock_path, "/tmp/mpt-hyg-lock-XXXXXX");
	int fd = MPT_ASSERT_OK(mkstemp(lock_path));
	close(fd);
}

/* A worker keeps its lock file locked past the end of the test. */
MPT_TEST(lock, flock_buggy, .allow = MPT_ALLOW_LEAKED_PROCESS)
{
	make_lock_file();
	start_holder(flock_it, NULL);
	unlink(lock_path);
}

MPT_TEST(lock, flock_fixed)
{
	make_lock_file();
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		int fd = open(lock_path, O_RDWR | O_CLOEXEC);
		MPT_ASSERT_OK(flock(fd, LOCK_EX));
		MPT_ASSERT_OK(flock(fd, LOCK_UN));
		close(fd);
		_exit(0);
	}
	mpt_wait_exited(p, 0);
	unlink(lock_path);
}

/* ---- precision: locks that are not process-shared ----------------------------- */

static pthread_mutex_t private_mutex = PTHREAD_MUTEX_INITIALIZER;
static long private_count;

static void *bump(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&private_mutex);
		private_count++;
		pthread_mutex_unlock(&private_mutex);
	}
	return NULL;
}

/* Threads share an ordinary mutex; and a robust mutex in private memory
 * (glibc marks it "shared" internally) is held at exit: it dies with the
 * process, so neither is a finding. */
MPT_TEST(lock, threads_private_clean)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		MPT_ASSERT_EQ(pthread_create(&t[i], NULL, bump, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	MPT_ASSERT_EQ(private_count, 80000);

	static pthread_mutex_t robust_private;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust_private, &a);
	MPT_ASSERT_EQ(pthread_mutex_lock(&robust_private), 0);
}
