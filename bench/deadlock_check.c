/* deadlock_check — the anchor of bench/deadlock-latency.sh: the same
 * join-before-drain deadlock as selftests/progs/deadlocks.c
 * (deadlock/join_before_drain), as a Check test in fork mode with Check's
 * default timeout (CK_DEFAULT_TIMEOUT, 4 s unless set).
 *
 *   deadlock_check      prints "LATENCY_MS" and exits 0 when Check reported
 *                       the test as timed out
 *
 * Latency is measured as in the mptest run: from the moment the parent
 * enters waitpid() with the child blocked in write() to the moment Check's
 * runner has its verdict (srunner_run_all returns). */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD (1 << 20)

/* Shared with the test's process: Check forks it. */
static long long *formed_ns;

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

START_TEST(join_before_drain)
{
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		static char big[PAYLOAD];
		close(fd[0]);
		memset(big, 'x', sizeof big);
		ssize_t w = write(fd[1], big, sizeof big);
		_exit(w == (ssize_t)sizeof big ? 0 : 1);
	}
	close(fd[1]);
	usleep(20000);
	*formed_ns = mono_ns();
	waitpid(p, NULL, 0);
	char buf[4096];
	while (read(fd[0], buf, sizeof buf) > 0)
		;
}
END_TEST

int main(void)
{
	formed_ns = mmap(NULL, sizeof *formed_ns, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (formed_ns == MAP_FAILED)
		return 99;
	Suite *s = suite_create("deadlock");
	TCase *tc = tcase_create("deadlock");
	tcase_add_test(tc, join_before_drain);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_SILENT);
	long long verdict = mono_ns();
	int ok = 0;
	TestResult **tr = srunner_failures(sr);
	if (srunner_ntests_failed(sr) == 1 && tr && tr[0] &&
	    strstr(tr_msg(tr[0]), "timeout"))
		ok = 1;
	else
		fprintf(stderr, "deadlock_check: expected one timeout, got: %s\n",
			tr && tr[0] ? tr_msg(tr[0]) : "no failure");
	free(tr);
	srunner_free(sr);
	if (!ok || !*formed_ns)
		return 1;
	printf("%.1f\n", (double)(verdict - *formed_ns) / 1e6);
	return 0;
}
