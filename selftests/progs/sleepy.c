/* Two tests that can only pass when they run at the same time: each waits
 * for the other's marker file. With -j 1 they time out; with -j 2 they
 * meet. Each also takes about 0.8 s, for the -j timing in the closing note. */
#include <mptest.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void meet(const char *mine, const char *other)
{
	const char *dir = getenv("MPT_SELFTEST_DIR");
	if (!dir)
		MPT_SKIP("MPT_SELFTEST_DIR not set");
	char a[4096], b[4096];
	snprintf(a, sizeof a, "%s/%s", dir, mine);
	snprintf(b, sizeof b, "%s/%s", dir, other);
	close(MPT_ASSERT_OK(open(a, O_WRONLY | O_CREAT, 0644)));
	while (access(b, F_OK) != 0)
		usleep(5000);
	usleep(800000);
}

MPT_TEST(sleepy, a, .timeout_ms = 3000) { meet("a", "b"); }
MPT_TEST(sleepy, b, .timeout_ms = 3000) { meet("b", "a"); }
