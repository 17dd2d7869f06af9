/* Fix: in a threaded process, do everything that allocates or takes a lock
 * before fork(), and let the child call only async-signal-safe functions
 * until it execs — or let posix_spawn() do the fork and exec, as here. */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hooks.h"

extern char **environ;

int run_hook(const char *file)
{
	char *what;
	if (asprintf(&what, "rotated %s", file) < 0)
		return -1;
	fprintf(service_log, "hook: running echo %s\n", what);
	fflush(NULL);
	char *argv[] = { "echo", what, NULL };
	pid_t pid;
	int err = posix_spawnp(&pid, "echo", NULL, NULL, argv, environ);
	free(what);
	if (err)
		return -1;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
