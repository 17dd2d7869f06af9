/* Plain programs (no libmptest) for the stdio and threads hygiene checks
 * under mpt-run: argv[1] names the case; each buggy case has fixed twins.
 * Under the harness stdout is a pipe, so it is fully buffered. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int wait_child(pid_t p)
{
	int st;
	if (p < 0 || waitpid(p, &st, 0) != p)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* ---- stdio-duplicate (HAZARDS row 9) ---------------------------------------- */

/* The classic: the greeting is still in stdout's buffer at fork, so the
 * child's exit() prints it again. */
static int dup_printf_exit(void)
{
	printf("hello from the parent\n");
	pid_t p = fork();
	if (p == 0)
		exit(0);
	return wait_child(p);
}

/* The same bytes, written by the child's own fflush. */
static int dup_fflush_child(void)
{
	printf("hello from the parent\n");
	pid_t p = fork();
	if (p == 0) {
		fflush(stdout);
		_exit(0);
	}
	return wait_child(p);
}

/* The child's own output overflows the buffer, which writes the parent's
 * bytes first; its _exit() comes too late. */
static int dup_overflow(void)
{
	printf("hello from the parent\n");
	pid_t p = fork();
	if (p == 0) {
		char line[100];
		memset(line, 'c', sizeof line - 2);
		line[sizeof line - 2] = '\n';
		line[sizeof line - 1] = 0;
		for (int i = 0; i < 2000; i++)
			fputs(line, stdout);
		_exit(0);
	}
	return wait_child(p);
}

/* A log file: the record is written twice. */
static int dup_file(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "record 1\n");
	pid_t p = fork();
	if (p == 0)
		exit(0);
	int r = wait_child(p);
	fclose(f);
	return r;
}

static int fixed_fflush(void)
{
	printf("hello from the parent\n");
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		printf("hello from the child\n");
		exit(0);
	}
	return wait_child(p);
}

static int fixed__exit(void)
{
	printf("hello from the parent\n");
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	return wait_child(p);
}

static int fixed_exec(void)
{
	printf("hello from the parent\n");
	pid_t p = fork();
	if (p == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	return wait_child(p);
}

static int fixed_fpurge(void)
{
	printf("hello from the parent\n");
	pid_t p = fork();
	if (p == 0) {
		__fpurge(stdout);
		printf("hello from the child\n");
		exit(0);
	}
	return wait_child(p);
}

/* A daemonizing child points stdout at /dev/null before it exits: its
 * copy of the buffer goes there, and nobody sees the greeting twice. */
static int fixed_redirected(void)
{
	printf("hello from the parent\n");
	pid_t p = fork();
	if (p == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(1);
		close(fd);
		exit(0);
	}
	return wait_child(p);
}

/* ---- fork-with-threads (HAZARDS row 11) ------------------------------------ */

static int stop[2];

static void *worker(void *arg)
{
	char c;
	(void)arg;
	while (read(stop[0], &c, 1) > 0)
		;
	return NULL;
}

/* Runs child() in a fork made while another thread is running (or, with
 * join_first, after it has finished). */
static int with_thread(void (*child)(void), int join_first)
{
	pthread_t t;
	fflush(stdout);
	if (pipe2(stop, O_CLOEXEC) < 0 || pthread_create(&t, NULL, worker, NULL) != 0)
		return 1;
	if (join_first) {
		close(stop[1]);
		pthread_join(t, NULL);
	}
	pid_t p = fork();
	if (p == 0)
		child();
	int r = wait_child(p);
	if (!join_first) {
		close(stop[1]);
		pthread_join(t, NULL);
	}
	close(stop[0]);
	return r;
}

static void child_malloc(void)
{
	char *volatile buf = malloc(64);
	if (buf)
		buf[0] = 'x';
	_exit(buf ? 0 : 1);
}

static void child_printf(void)
{
	printf("child %d\n", (int)getpid());
	fflush(stdout);
	_exit(0);
}

static void child_exit(void)
{
	exit(0);
}

static void child_exec(void)
{
	execl("/bin/true", "true", (char *)NULL);
	_exit(127);
}

static void child__exit(void)
{
	static const char msg[] = "child: async-signal-safe only\n";
	ssize_t w = write(1, msg, sizeof msg - 1);
	_exit(w < 0);
}

/* A private mutex the program's threads share: the worker may hold it at
 * the instant of fork, and the child's copy then stays locked forever. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static void child_mutex(void)
{
	pthread_mutex_lock(&table_lock);
	pthread_mutex_unlock(&table_lock);
	_exit(0);
}

static void child_trylock(void)
{
	if (pthread_mutex_trylock(&table_lock) == 0)
		pthread_mutex_unlock(&table_lock);
	_exit(0);
}

/* setenv() allocates (and takes libc's environment lock) before the exec:
 * the exec does not undo what may already have hung. */
static void child_setenv_exec(void)
{
	setenv("MPT_SELFTEST_MODE", "child", 1);
	execl("/bin/true", "true", (char *)NULL);
	_exit(127);
}

/* The fix: the environment is built before fork; the child only execs. */
static char *const child_env[] = {"MPT_SELFTEST_MODE=child", NULL};
static void child_execle(void)
{
	execle("/bin/true", "true", (char *)NULL, child_env);
	_exit(127);
}

static int single_thread_mutex(void)
{
	pid_t p = fork();
	if (p == 0)
		child_mutex();
	return wait_child(p);
}

static int single_thread_malloc(void)
{
	pid_t p = fork();
	if (p == 0)
		child_malloc();
	return wait_child(p);
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "dup-printf-exit")) return dup_printf_exit();
	if (!strcmp(c, "dup-fflush-child")) return dup_fflush_child();
	if (!strcmp(c, "dup-overflow")) return dup_overflow();
	if (!strcmp(c, "dup-file") && argc > 2) return dup_file(argv[2]);
	if (!strcmp(c, "fixed-fflush")) return fixed_fflush();
	if (!strcmp(c, "fixed-_exit")) return fixed__exit();
	if (!strcmp(c, "fixed-exec")) return fixed_exec();
	if (!strcmp(c, "fixed-fpurge")) return fixed_fpurge();
	if (!strcmp(c, "fixed-redirected")) return fixed_redirected();
	if (!strcmp(c, "threads-malloc-in-child")) return with_thread(child_malloc, 0);
	if (!strcmp(c, "threads-printf-in-child")) return with_thread(child_printf, 0);
	if (!strcmp(c, "threads-exit-in-child")) return with_thread(child_exit, 0);
	if (!strcmp(c, "threads-exec")) return with_thread(child_exec, 0);
	if (!strcmp(c, "threads-_exit")) return with_thread(child__exit, 0);
	if (!strcmp(c, "threads-joined-malloc")) return with_thread(child_malloc, 1);
	if (!strcmp(c, "single-malloc")) return single_thread_malloc();
	if (!strcmp(c, "threads-mutex-in-child")) return with_thread(child_mutex, 0);
	if (!strcmp(c, "threads-trylock-in-child")) return with_thread(child_trylock, 0);
	if (!strcmp(c, "threads-joined-mutex")) return with_thread(child_mutex, 1);
	if (!strcmp(c, "single-mutex")) return single_thread_mutex();
	if (!strcmp(c, "threads-setenv-exec")) return with_thread(child_setenv_exec, 0);
	if (!strcmp(c, "threads-execle")) return with_thread(child_execle, 0);
	fprintf(stderr, "usage: stdio dup-printf-exit|dup-fflush-child|dup-overflow|"
		"dup-file PATH|fixed-fflush|fixed-_exit|fixed-exec|fixed-fpurge|"
		"fixed-redirected|"
		"threads-malloc-in-child|threads-printf-in-child|threads-exit-in-child|"
		"threads-exec|threads-_exit|threads-joined-malloc|single-malloc|"
		"threads-mutex-in-child|threads-trylock-in-child|threads-joined-mutex|"
		"single-mutex|threads-setenv-exec|threads-execle\n");
	return 2;
}
