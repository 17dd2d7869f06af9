/* Fix: prefer inheriting a resource to shipping it. Each job's output file
 * is opened before the worker for that job is forked; the worker inherits
 * exactly that descriptor, and the parent closes its copy right after
 * fork(). Ownership is plain: one copy each, each closed by its owner.
 * (Had the descriptor to be shipped, the sender would close its copy after
 * sendmsg().) */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reports.h"

int run_reports(void)
{
	char dir[] = "/tmp/reports-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("reports");
		return 1;
	}
	pid_t pid[JOBS];
	int started = 0;
	fflush(NULL);
	for (int job = 1; job <= JOBS; job++) {
		int out = open_output(dir, job);
		if (out < 0) {
			perror("open_output");
			break;
		}
		pid_t p = fork();
		if (p == 0)
			_exit(render_report(out, job) == 0 && close(out) == 0 ? 0 : 1);
		close(out);   /* the worker has its own copy */
		if (p < 0) {
			perror("fork");
			break;
		}
		pid[started++] = p;
	}
	for (int i = 0; i < started; i++)
		while (waitpid(pid[i], NULL, 0) < 0 && errno == EINTR)
			;
	return check_outputs(dir);
}
