/* The shop: WORKERS processes wait for the shop to open, then each places
 * ORDERS orders, taking a number from the shared file for every one and
 * reporting it to the parent over a pipe. The parent checks what a customer
 * would: no order number handed out twice, and the file's count equal to
 * the orders placed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orders.h"

#define WORKERS 4
#define ORDERS 5000

static void place_orders(const char *path, int opening, int report)
{
	char c;
	/* The shop opens when the parent closes its end of the gate. */
	while (read(opening, &c, 1) < 0 && errno == EINTR)
		;
	close(opening);
	for (int i = 0; i < ORDERS; i++) {
		long n = next_order_number(path);
		if (n < 0 || write(report, &n, sizeof n) != (ssize_t)sizeof n)
			_exit(1);
	}
	_exit(0);
}

int run_shop(void)
{
	char path[] = "/tmp/orders-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, "0\n", 2) != 2) {
		perror("orders file");
		return 1;
	}
	close(fd);

	int gate[2], report[2];
	if (pipe2(gate, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0) {
		perror("pipe2");
		return 1;
	}
	pid_t pid[WORKERS];
	for (int w = 0; w < WORKERS; w++) {
		pid[w] = fork();
		if (pid[w] < 0) {
			perror("fork");
			return 1;
		}
		if (pid[w] == 0) {
			close(gate[1]);
			close(report[0]);
			place_orders(path, gate[0], report[1]);
		}
	}
	close(gate[0]);
	close(report[1]);
	close(gate[1]); /* open the shop: every worker starts at once */

	/* Count how often each number was handed out. */
	static int seen[WORKERS * ORDERS + 1];
	int placed = 0, twice = 0;
	long n;
	ssize_t r;
	while ((r = read(report[0], &n, sizeof n)) == (ssize_t)sizeof n || (r < 0 && errno == EINTR)) {
		if (r < 0)
			continue;
		placed++;
		if (n >= 1 && n <= WORKERS * ORDERS && seen[n]++)
			twice++;
	}
	close(report[0]);
	int failed = 0;
	for (int w = 0; w < WORKERS; w++) {
		int st;
		while (waitpid(pid[w], &st, 0) < 0 && errno == EINTR)
			;
		failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}

	char buf[32] = "";
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, sizeof buf - 1) < 0)
			buf[0] = 0;
		close(fd);
	}
	unlink(path);
	long last = strtol(buf, NULL, 10);

	if (failed || placed != WORKERS * ORDERS) {
		fprintf(stderr, "orders: a worker failed (%d of %d orders placed)\n",
			placed, WORKERS * ORDERS);
		return 1;
	}
	if (twice || last != placed) {
		fprintf(stderr, "orders: %d orders placed, but the file counts %ld: "
			"%d numbers went to two orders (lost updates)\n", placed, last, twice);
		return 1;
	}
	printf("orders: %d orders, numbers 1..%ld, none handed out twice\n", placed, last);
	return 0;
}

#ifndef NO_MAIN   /* test.c is built with -DNO_MAIN: libmptest supplies main() */
int main(void)
{
	return run_shop();
}
#endif
