/* Plain programs (no libmptest) for the process hygiene checks under
 * mpt-run: argv[1] names the case; each buggy case has a fixed twin. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int zombie(int fixed)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	usleep(50000);
	if (fixed)
		waitpid(p, NULL, 0);
	return 0;
}

static int leak(int fixed)
{
	pid_t p = fork();
	if (p == 0)
		for (;;)
			pause();
	if (fixed) {
		kill(p, SIGTERM);
		waitpid(p, NULL, 0);
	}
	return 0;
}

/* The worker is another program, and its parent is gone by the end: the
 * fork's call site can no longer be read, only who started it. The parent
 * waits until the worker runs the shell (it says so). */
static int leak_exec(void)
{
	int p[2];
	if (pipe(p) < 0)
		return 2;
	pid_t c = fork();
	if (c == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execlp("sh", "sh", "-c", "echo ready; exec sleep 600", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[16];
	ssize_t n = read(p[0], buf, sizeof buf);
	close(p[0]);
	return n > 0 ? 0 : 2;
}

static int crash(int fixed)
{
	pid_t p = fork();
	if (p == 0) {
		if (!fixed)
			raise(SIGSEGV);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	return 0; /* the buggy parent never looks at st */
}

static int daemonize(void)
{
	int fd[2];
	if (pipe(fd) < 0)
		return 1;
	pid_t mid = fork();
	if (mid == 0) {
		setsid();
		if (fork() == 0) {
			close(fd[0]);
			if (write(fd[1], "x", 1) != 1)
				_exit(1);
			_exit(0);
		}
		_exit(0);
	}
	close(fd[1]);
	waitpid(mid, NULL, 0);
	char c;
	while (read(fd[0], &c, 1) > 0)
		;
	close(fd[0]);
	usleep(20000);
	return 0;
}
/* The daemon's double fork where the grandchild is gone before the middle
 * process exits: it waits (through raw system calls, which the shim does
 * not see) until the grandchild is a zombie, then exits at once. It never
 * lived on past that exit, so no zombie. */
static int daemon_race(void)
{
	pid_t mid = fork();
	if (mid == 0) {
		setsid();
		pid_t g = fork();
		if (g == 0)
			_exit(0);
		char path[64], buf[256];
		snprintf(path, sizeof path, "/proc/%d/stat", (int)g);
		for (int i = 0; i < 1000000; i++) {
			long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
			long n = fd < 0 ? -1 : syscall(SYS_read, fd, buf, sizeof buf - 1);
			if (fd >= 0)
				syscall(SYS_close, fd);
			buf[n > 0 ? n : 0] = 0;
			char *rp = strrchr(buf, ')');
			if (rp && rp[1] && rp[2] == 'Z')
				break;
		}
		_exit(0);
	}
	waitpid(mid, NULL, 0);
	usleep(20000);
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	if (!strcmp(c, "zombie")) return zombie(0);
	if (!strcmp(c, "zombie-fixed")) return zombie(1);
	if (!strcmp(c, "leak")) return leak(0);
	if (!strcmp(c, "leak-fixed")) return leak(1);
	if (!strcmp(c, "leak-exec")) return leak_exec();
	if (!strcmp(c, "crash")) return crash(0);
	if (!strcmp(c, "crash-fixed")) return crash(1);
	if (!strcmp(c, "exit-status")) return 3;
	if (!strcmp(c, "exit-status-fixed")) return 0;
	if (!strcmp(c, "daemon")) return daemonize();
	if (!strcmp(c, "daemon-race")) return daemon_race();
	fprintf(stderr, "usage: proc zombie|leak|crash|exit-status[-fixed]|daemon|daemon-race\n");
	return 2;
}
