/* The archiver's main: start the worker, then read the manifest (the list
 * of files to archive) and send the worker one job per file. The worker was
 * forked before the manifest was read, so the manifest exists only in the
 * parent's memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archive.h"

#define MANIFEST_MAX (1 << 20)

static void worker(int jobs)
{
	struct job job;
	int done = 0;
	while (recv_job(jobs, &job) > 0) {
		/* Compressing is beside the point here; naming the file is
		 * enough to need the string. */
		printf("worker: archiving %s (job %d)\n", job.path, job.id);
		done++;
	}
	printf("worker: %d files archived\n", done);
	fflush(stdout);
	_exit(0);
}

/* The manifest as read from disk: one path a line, in a buffer big enough
 * for any manifest we expect. */
static char *read_manifest(void)
{
	char *m = malloc(MANIFEST_MAX);
	if (!m)
		return NULL;
	size_t used = 0;
	for (int day = 1; day <= 7; day++)
		used += (size_t)snprintf(m + used, MANIFEST_MAX - used,
					 "/var/log/app/app.log.%d\n", day);
	return m;
}

int run_archiver(void)
{
	/* A worker that dies is an error to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	int jobs[2];
	if (pipe2(jobs, O_CLOEXEC) < 0) {
		perror("pipe2");
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(jobs[1]);
		worker(jobs[0]);
	}
	close(jobs[0]);

	char *manifest = read_manifest();
	if (!manifest)
		return 1;
	int id = 0, rc = 0;
	for (char *line = manifest, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = 0;
		struct job job = { ++id, line };
		if (send_job(jobs[1], &job) < 0) {
			perror("send_job");
			rc = 1;
			break;
		}
	}
	close(jobs[1]);

	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	free(manifest);
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "archiver: the worker died of signal %d\n", WTERMSIG(st));
		return 1;
	}
	printf("archiver: %d jobs sent\n", id);
	return rc || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

#ifndef NO_MAIN   /* test.c is built with -DNO_MAIN: libmptest supplies main() */
int main(void)
{
	return run_archiver();
}
#endif
