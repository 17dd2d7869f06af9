/* Bug: the worker is started first, and each output file is opened later
 * and shipped to it over a UNIX socket (SCM_RIGHTS). Whose descriptor is it
 * then? The parent assumes sending hands it over; it does not — the worker
 * gets a duplicate, and the parent's copy stays open. One descriptor leaks
 * per job, until the program hits its descriptor limit. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reports.h"

static int send_fd(int sock, int fd, int job)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &job, sizeof job };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &msg, 0) == (ssize_t)sizeof job ? 0 : -1;
}

static int recv_fd(int sock, int *job)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { job, sizeof *job };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof *job)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	int fd;
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

static void worker(int sock)
{
	int job, fd;
	while ((fd = recv_fd(sock, &job)) >= 0) {
		render_report(fd, job);
		close(fd);
	}
	_exit(0);
}

int run_reports(void)
{
	char dir[] = "/tmp/reports-XXXXXX";
	int sv[2];
	if (!mkdtemp(dir) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("reports");
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		worker(sv[1]);
	}
	close(sv[1]);
	for (int job = 1; job <= JOBS; job++) {
		int out = open_output(dir, job);
		if (out < 0 || send_fd(sv[0], out, job) < 0) {
			perror("dispatch");
			break;
		}
		/* The worker has it now... (it has a copy; this one stays open) */
	}
	close(sv[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return check_outputs(dir);
}
