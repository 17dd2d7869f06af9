/* stdio buffers and threads across fork through the API: each buggy test
 * has fixed twins that must get no finding. selftests/check_stdio.c
 * asserts the verdicts. The test's stdout is the runner's pipe, so it is
 * fully buffered, as it is for any program whose output is captured. */
#define _GNU_SOURCE
#include <mptest.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- stdio-duplicate (HAZARDS row 9) ---------------------------------------- */

/* The classic: "starting" is still in stdout's buffer at fork, and the
 * child's exit() writes it a second time. */
MPT_TEST(stdio, duplicate_at_exit)
{
	printf("starting\n");
	pid_t p = fork();
	if (p == 0)
		exit(0);
	mpt_wait_exited(p, 0);
}

MPT_TEST(stdio, fixed_fflush_before_fork)
{
	printf("starting\n");
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		printf("child\n");
		exit(0);
	}
	mpt_wait_exited(p, 0);
}

MPT_TEST(stdio, fixed_child_exits_with__exit)
{
	printf("starting\n");
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	mpt_wait_exited(p, 0);
}

MPT_TEST(stdio, fixed_child_execs)
{
	printf("starting\n");
	pid_t p = fork();
	if (p == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	mpt_wait_exited(p, 0);
}

MPT_TEST(stdio, fixed_child_purges)
{
	printf("starting\n");
	pid_t p = fork();
	if (p == 0) {
		__fpurge(stdout);
		exit(0);
	}
	mpt_wait_exited(p, 0);
}

/* The child flushes the parent's bytes itself, then ends correctly. */
MPT_TEST(stdio, duplicate_fflush_in_child)
{
	printf("starting\n");
	pid_t p = fork();
	if (p == 0) {
		printf("child\n");
		fflush(stdout);
		_exit(0);
	}
	mpt_wait_exited(p, 0);
}

/* A log file written through stdio: the record lands in it twice, which
 * the test shows by counting. */
static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	MPT_ASSERT(f != NULL);
	int n = 0, c;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void log_then_fork(int fixed)
{
	char path[] = "/tmp/mpt-hyg-stdio-XXXXXX";
	int fd = MPT_ASSERT_OK(mkstemp(path));
	FILE *log = fdopen(fd, "w");
	MPT_ASSERT(log != NULL);
	fprintf(log, "record 1\n");
	if (fixed)
		fflush(log);
	pid_t p = fork();
	if (p == 0)
		exit(0);
	mpt_wait_exited(p, 0);
	fclose(log);
	MPT_ASSERT_EQ(count_lines(path), fixed ? 1 : 2);
	unlink(path);
}

MPT_TEST(stdio, duplicate_log_file) { log_then_fork(0); }
MPT_TEST(stdio, fixed_log_file) { log_then_fork(1); }

/* ---- fork-with-threads (HAZARDS row 11) ------------------------------------ */

static int stop[2];
static pthread_t worker_thread;

static void *worker(void *arg)
{
	char c;
	(void)arg;
	while (read(stop[0], &c, 1) > 0)
		;
	return NULL;
}

/* A thread that runs until stop_worker(): the fork happens while it does. */
static void start_worker(void)
{
	fflush(stdout); /* not the stdio-duplicate under test here */
	MPT_ASSERT_OK(pipe2(stop, O_CLOEXEC));
	MPT_ASSERT_EQ(pthread_create(&worker_thread, NULL, worker, NULL), 0);
}

static void stop_worker(void)
{
	close(stop[1]);
	MPT_ASSERT_EQ(pthread_join(worker_thread, NULL), 0);
	close(stop[0]);
}

MPT_TEST(threads, malloc_in_child)
{
	start_worker();
	pid_t p = fork();
	if (p == 0) {
		/* The worker may hold a lock malloc needs. */
		char *volatile reply = malloc(strlen("ready") + 1);
		_exit(reply ? 0 : 1);
	}
	mpt_wait_exited(p, 0);
	stop_worker();
}

MPT_TEST(threads, printf_in_child)
{
	start_worker();
	pid_t p = fork();
	if (p == 0) {
		printf("child %d\n", (int)getpid()); /* the worker may hold stdout's lock */
		fflush(stdout);
		_exit(0);
	}
	mpt_wait_exited(p, 0);
	stop_worker();
}

MPT_TEST(threads, fixed_fork_then_exec)
{
	start_worker();
	pid_t p = fork();
	if (p == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	mpt_wait_exited(p, 0);
	stop_worker();
}

MPT_TEST(threads, fixed_fork_then__exit)
{
	start_worker();
	pid_t p = fork();
	if (p == 0) {
		static const char msg[] = "child: write() and _exit() only\n";
		ssize_t w = write(1, msg, sizeof msg - 1);
		_exit(w < 0);
	}
	mpt_wait_exited(p, 0);
	stop_worker();
}

/* Precision: a single-threaded fork child may allocate, and so may one
 * forked after the other thread was joined. */
MPT_TEST(threads, single_threaded_child_mallocs)
{
	pid_t p = fork();
	if (p == 0) {
		char *volatile buf = malloc(64);
		_exit(buf ? 0 : 1);
	}
	mpt_wait_exited(p, 0);
}

MPT_TEST(threads, joined_before_fork_child_mallocs)
{
	start_worker();
	stop_worker();
	pid_t p = fork();
	if (p == 0) {
		char *volatile buf = malloc(64);
		_exit(buf ? 0 : 1);
	}
	mpt_wait_exited(p, 0);
}

/* A private mutex the test's threads share: the worker may hold it at the
 * instant of fork, and the child's copy then stays locked forever. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

MPT_TEST(threads, mutex_in_child)
{
	start_worker();
	pid_t p = fork();
	if (p == 0) {
		pthread_mutex_lock(&table_lock);
		pthread_mutex_unlock(&table_lock);
		_exit(0);
	}
	mpt_wait_exited(p, 0);
	stop_worker();
}

/* Precision: the same lock in a child of a single-threaded process, and a
 * process-shared mutex (its holder lives on in another process) in a child
 * of a threaded one. */
MPT_TEST(threads, single_threaded_child_locks)
{
	pid_t p = fork();
	if (p == 0) {
		pthread_mutex_lock(&table_lock);
		pthread_mutex_unlock(&table_lock);
		_exit(0);
	}
	mpt_wait_exited(p, 0);
}

MPT_TEST(threads, shared_mutex_in_child)
{
	pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	MPT_ASSERT(m != MAP_FAILED);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	MPT_ASSERT_EQ(pthread_mutex_init(m, &a), 0);
	pthread_mutexattr_destroy(&a);
	start_worker();
	pid_t p = fork();
	if (p == 0) {
		int r = pthread_mutex_lock(m);
		pthread_mutex_unlock(m);
		_exit(r);
	}
	mpt_wait_exited(p, 0);
	stop_worker();
	munmap(m, sizeof *m);
}

/* setenv() allocates (and takes libc's environment lock) in the child; the
 * exec after it does not undo what may already have hung. */
MPT_TEST(threads, setenv_then_exec)
{
	start_worker();
	pid_t p = fork();
	if (p == 0) {
		setenv("MPT_SELFTEST_MODE", "child", 1);
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	mpt_wait_exited(p, 0);
	stop_worker();
}

/* The fix: the environment is built before fork; the child only execs. */
MPT_TEST(threads, fixed_env_built_before_fork)
{
	static char *const env[] = {"MPT_SELFTEST_MODE=child", NULL};
	start_worker();
	pid_t p = fork();
	if (p == 0) {
		execle("/bin/true", "true", (char *)NULL, env);
		_exit(127);
	}
	mpt_wait_exited(p, 0);
	stop_worker();
}
