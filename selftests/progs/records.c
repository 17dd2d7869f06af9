/* More findings than the session region holds (it keeps MPT__MAX_RECORDS,
 * 64): allowed ones must not take its slots, and the ones that do not fit
 * must be said to be missing, not turned into a finding of their own.
 * selftests/check_runner.c asserts the verdicts.
 *
 * With --plain-zombies=N or --plain-stdio=N this program does not run
 * tests: it is a plain program for mpt-run (its own main, before
 * mpt_main), leaving N zombies, or making N children write stdout's
 * buffered text again. */
#include <mptest.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MANY 80

/* N children that exit at once and are never reaped. Each is waited for
 * with WNOWAIT, so it is a zombie for sure when this returns. */
static int zombies(int n)
{
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0)
			return -1;
		if (p == 0)
			_exit(0);
		siginfo_t info;
		if (waitid(P_PID, (id_t)p, &info, WEXITED | WNOWAIT) < 0)
			return -1;
	}
	return 0;
}

/* Text left in stdout's buffer (a pipe: fully buffered) before N forks:
 * every child's exit() writes it again. The children are reaped. */
static int stdio_twice(int n)
{
	printf("written once by the parent");
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0)
			return -1;
		if (p == 0)
			exit(0);
		int st;
		if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
			return -1;
	}
	printf("\n");
	return 0;
}

/* The allowed zombies are not reported, and fill nothing. */
MPT_TEST(records, zombies_allowed, .allow = MPT_ALLOW_ZOMBIE)
{
	MPT_ASSERT_EQ(zombies(MANY), 0);
}

/* The same zombies, not allowed: the region keeps 64 of the 80. */
MPT_TEST(records, zombies_reported)
{
	MPT_ASSERT_EQ(zombies(MANY), 0);
}

/* An assertion that fails after many allowed findings still has a slot. */
MPT_TEST(records, assert_after_allowed, .allow = MPT_ALLOW_STDIO_DUPLICATE)
{
	MPT_ASSERT_EQ(stdio_twice(MANY), 0);
	int answer = 41;
	MPT_ASSERT_EQ(answer, 42);
}

static int plain_count(const char *arg, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(arg, name, n) || arg[n] != '=')
		return -1;
	return atoi(arg + n + 1);
}

int main(int argc, char **argv)
{
	int n;
	if (argc == 2 && (n = plain_count(argv[1], "--plain-zombies")) > 0)
		return zombies(n) < 0 ? 3 : 0;
	if (argc == 2 && (n = plain_count(argv[1], "--plain-stdio")) > 0)
		return stdio_twice(n) < 0 ? 3 : 0;
	return mpt_main(argc, argv);
}
