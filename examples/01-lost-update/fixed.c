/* Fix: hold an exclusive lock on the file from the read to the write, so
 * the read-modify-write is one step for every other worker. (flock() locks
 * belong to the open file description: each call opens the file itself, so
 * workers do not share one lock by sharing a descriptor.) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "orders.h"

long next_order_number(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	long next = strtol(buf, NULL, 10) + 1;
	int len = snprintf(buf, sizeof buf, "%ld\n", next);
	if (pwrite(fd, buf, (size_t)len, 0) != len)
		next = -1;
	flock(fd, LOCK_UN);
	close(fd);
	return next;
}
