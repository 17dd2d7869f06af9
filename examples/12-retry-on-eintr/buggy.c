/* Bug: every call is made once. read() and waitpid() are interrupted by
 * the spinner's SIGALRM (no SA_RESTART) and fail with EINTR, which is
 * treated as an error; and a read() or write() on a pipe may also move
 * fewer bytes than asked, which is treated as an error or ignored. */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"

int read_full(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);   /* EINTR: "failed"; short: "done" */
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EPIPE;
		return -1;
	}
	return 0;
}

int write_full(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

int wait_child(pid_t pid)
{
	int st;
	return waitpid(pid, &st, 0) == pid ? st : -1;
}
