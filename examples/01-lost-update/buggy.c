/* Bug: read the last number, add one, write it back — with nothing to stop
 * another process from doing the same in between. Two workers that read the
 * same value hand out the same order number, and one update is lost. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "orders.h"

long next_order_number(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	long next = strtol(buf, NULL, 10) + 1;   /* another worker may be here too */
	int len = snprintf(buf, sizeof buf, "%ld\n", next);
	if (pwrite(fd, buf, (size_t)len, 0) != len)
		next = -1;
	close(fd);
	return next;
}
