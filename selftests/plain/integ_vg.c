/* A plain program (no libmptest) for --valgrind under mpt-run: argv[1]
 * names the case.
 *   uaf       a child reads a block after freeing it, then exits 0; the
 *             parent reaps it, so only Valgrind can see the bug
 *   uafexec   the same child then execs /bin/true (same pid, a new
 *             Valgrind, which must not lose what the first one saw)
 *   pipeline  clean: a forked writer, an exec'd filter (this program again,
 *             "upper") and the parent reading the result, all reaped
 *   upper     the filter: stdin to stdout in upper case
 *   crash     a child dies of SIGSEGV (a crash finding; Valgrind adds where)
 *   leak      loses a block (an error only with --leak-check=full) */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int uaf(int then_exec)
{
	pid_t p = fork();
	if (p == 0) {
		int *v = malloc(4 * sizeof *v);
		if (!v)
			_exit(1);
		v[0] = 42;
		int *volatile stale = v; /* hidden from the compiler's own check */
		free(v);
		volatile int x = stale[0]; /* use after free */
		(void)x;
		if (then_exec)
			execl("/bin/true", "true", (char *)NULL);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int upper(void)
{
	int c;
	while ((c = getchar()) != EOF)
		putchar(toupper(c));
	return ferror(stdout) ? 1 : 0;
}

static int pipeline(const char *self)
{
	int in[2], out[2];
	if (pipe(in) < 0 || pipe(out) < 0)
		return 1;
	pid_t writer = fork();
	if (writer == 0) {
		close(in[0]);
		close(out[0]);
		close(out[1]);
		static const char msg[] = "hello from a clean pipeline\n";
		for (int i = 0; i < 100; i++)
			if (write(in[1], msg, sizeof msg - 1) != (ssize_t)(sizeof msg - 1))
				_exit(1);
		_exit(0);
	}
	pid_t filter = fork();
	if (filter == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(self, self, "upper", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(in[1]);
	close(out[1]);
	char buf[4096];
	size_t total = 0;
	ssize_t r;
	int ok = 1;
	while ((r = read(out[0], buf, sizeof buf)) > 0) {
		total += (size_t)r;
		if (memchr(buf, 'h', (size_t)r))
			ok = 0; /* the filter did not run */
	}
	close(out[0]);
	int st1, st2;
	waitpid(writer, &st1, 0);
	waitpid(filter, &st2, 0);
	if (!ok || total != 100 * 28 || st1 != 0 || st2 != 0) {
		fprintf(stderr, "pipeline: ok=%d total=%zu st=%d,%d\n", ok, total, st1, st2);
		return 1;
	}
	printf("pipeline: %zu bytes through the filter\n", total);
	return 0;
}

static int crash(void)
{
	pid_t p = fork();
	if (p == 0) {
		volatile int *null = NULL;
		*null = 1;
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	return 0;
}

static int leak(void)
{
	char *volatile p = malloc(100);
	if (!p)
		return 1;
	p[0] = 1;
	p = NULL; /* the only pointer to the block is gone */
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "uaf"))
		return uaf(0);
	if (!strcmp(c, "uafexec"))
		return uaf(1);
	if (!strcmp(c, "pipeline"))
		return pipeline(argv[0]);
	if (!strcmp(c, "upper"))
		return upper();
	if (!strcmp(c, "crash"))
		return crash();
	if (!strcmp(c, "leak"))
		return leak();
	fprintf(stderr, "usage: %s uaf|uafexec|pipeline|upper|crash|leak\n", argv[0]);
	return 2;
}
