/* Stack dumps of stuck processes, taken with eu-stack (elfutils) or gdb. */
#define _GNU_SOURCE
#include "stacks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/util.h"

#define MAX_OUT (16 * 1024) /* of one process's stack text */

extern char **environ;

static int find_tool(const char *name, char *out, size_t n)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		if (len > 0 && (size_t)snprintf(out, n, "%.*s/%s", (int)len, path, name) < n &&
		    access(out, X_OK) == 0)
			return 1;
		path += len;
		if (*path == ':')
			path++;
	}
	return 0;
}

/* The runner's environment without the test's preload and region: the
 * tool must not run the shim. */
static char **tool_env(void)
{
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **env = mpt__xcalloc(n + 1, sizeof *env);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) &&
		    strncmp(environ[i], "MPT_REGION_FD=", 14))
			env[k++] = environ[i];
	return env;
}

struct job {
	pid_t child;
	int fd;
	int timed_out;
	int status;
	struct mpt__buf out;
};

/* Whether pid is stopped (or gone): a tool that attaches to a process
 * the SIGSTOP has not reached yet would see it running and let it run on
 * at the detach. */
static int stopped_or_gone(pid_t pid)
{
	char st = mpt__proc_state(pid);
	return !st || st == 'T' || st == 't' || st == 'Z' || st == 'X';
}

static pid_t spawn_tool(const char *tool, int gdb, pid_t target, char **env, int *fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	char pid[16];
	snprintf(pid, sizeof pid, "%d", (int)target);
	char *eu[] = {(char *)"eu-stack", (char *)"-s", (char *)"-p", pid, NULL};
	char *gd[] = {(char *)"gdb", (char *)"-batch", (char *)"-nx", (char *)"-p", pid,
		      (char *)"-ex", (char *)"thread apply all bt", NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	posix_spawnattr_init(&at);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t child;
	int rc = posix_spawn(&child, tool, &fa, &at, gdb ? gd : eu, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return -1;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*fd = p[0];
	return child;
}

void mpt__stacks_append(struct mpt__buf *b, const pid_t *pids,
			const char *const *titles, int n, int64_t budget_ns)
{
	char tool[4096];
	int gdb = 0;
	if (n <= 0)
		return;
	if (!find_tool("eu-stack", tool, sizeof tool)) {
		if (!find_tool("gdb", tool, sizeof tool)) {
			mpt__buf_puts(b, "\nStacks: not taken: neither eu-stack (elfutils) "
					 "nor gdb is installed.\n");
			return;
		}
		gdb = 1;
	}
	mpt__buf_printf(b, "\nStacks (%s, taken after the verdict):\n",
			gdb ? "gdb" : "eu-stack");
	/* Attaching interrupts the call each process is blocked in: a write
	 * to a full pipe returns what it wrote so far, and the process would
	 * run on (fail an assertion on the short count, exit, wake its
	 * parent) before the tree is killed, adding findings that are only
	 * echoes of the verdict. Stopped first, they stay stopped through
	 * the attach and the detach (both tools leave a stopped process
	 * stopped) until the kill. */
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGSTOP);
	int64_t stop_by = mpt__now_ns() + 200000000LL; /* 200 ms at most */
	for (int i = 0; i < n; i++)
		while (!stopped_or_gone(pids[i]) && mpt__now_ns() < stop_by)
			usleep(200);
	char **env = tool_env();
	struct job *jobs = mpt__xcalloc((size_t)n, sizeof *jobs);
	struct pollfd *pfd = mpt__xcalloc((size_t)n, sizeof *pfd);
	int *which = mpt__xcalloc((size_t)n, sizeof *which);
	for (int i = 0; i < n; i++) {
		jobs[i].fd = -1;
		jobs[i].child = spawn_tool(tool, gdb, pids[i], env, &jobs[i].fd);
	}
	int64_t deadline = mpt__now_ns() + budget_ns;
	for (;;) {
		int k = 0;
		for (int i = 0; i < n; i++)
			if (jobs[i].fd >= 0) {
				pfd[k] = (struct pollfd){.fd = jobs[i].fd, .events = POLLIN};
				which[k++] = i;
			}
		int64_t left = deadline - mpt__now_ns();
		if (k == 0 || left <= 0)
			break;
		int r = poll(pfd, (nfds_t)k, (int)((left + 999999) / 1000000));
		if (r < 0 && errno != EINTR)
			break;
		for (int j = 0; j < k; j++) {
			if (!pfd[j].revents)
				continue;
			struct job *J = &jobs[which[j]];
			char buf[4096];
			ssize_t got = read(J->fd, buf, sizeof buf);
			if (got > 0) {
				if (J->out.len < MAX_OUT)
					mpt__buf_add(&J->out, buf, (size_t)got);
			} else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(J->fd);
				J->fd = -1;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		struct job *J = &jobs[i];
		if (J->fd >= 0) {
			close(J->fd);
			J->fd = -1;
			if (J->child > 0) {
				kill(J->child, SIGKILL);
				J->timed_out = 1;
			}
		}
		if (J->child > 0) {
			pid_t w;
			do
				w = waitpid(J->child, &J->status, 0);
			while (w < 0 && errno == EINTR);
		}
		mpt__buf_printf(b, "  %s:\n", titles[i]);
		if (J->child <= 0) {
			mpt__buf_puts(b, "    (could not start the stack tool)\n");
			continue;
		}
		/* Indent every line of the tool's output. */
		const char *p = J->out.p ? J->out.p : "";
		size_t len = J->out.len;
		while (len > 0) {
			const char *nl = memchr(p, '\n', len);
			size_t l = nl ? (size_t)(nl - p) : len;
			mpt__buf_puts(b, "    ");
			mpt__buf_add(b, p, l);
			mpt__buf_puts(b, "\n");
			p += nl ? l + 1 : l;
			len -= nl ? l + 1 : l;
		}
		if (J->out.len >= MAX_OUT)
			mpt__buf_puts(b, "    (cut here)\n");
		if (J->timed_out)
			mpt__buf_printf(b, "    (%s did not finish in time)\n",
					gdb ? "gdb" : "eu-stack");
		else if (J->out.len == 0)
			mpt__buf_printf(b, "    (no output; %s exited with status %d)\n",
					gdb ? "gdb" : "eu-stack",
					WIFEXITED(J->status) ? WEXITSTATUS(J->status) : -1);
		mpt__buf_free(&J->out);
	}
	free(jobs);
	free(pfd);
	free(which);
	free(env);
}
