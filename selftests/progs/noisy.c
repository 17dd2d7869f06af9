/* Output-heavy tests: the runner must keep a bounded tail and never block
 * or slow the writer. */
#include <mptest.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void spew(size_t total)
{
	static char block[65536];
	memset(block, 'x', sizeof block);
	block[sizeof block - 1] = '\n';
	for (size_t done = 0; done < total; done += sizeof block)
		MPT_ASSERT_EQ(write(1, block, sizeof block), (ssize_t)sizeof block);
}

/* 100 MB, then a failure so the tail is reported. */
MPT_TEST(noisy, hundred_mb_then_fail)
{
	spew(100u << 20);
	static const char last[] = "the last line\n";
	MPT_ASSERT_OK(write(1, last, sizeof last - 1));
	MPT_ASSERT(!"fails after 100 MB");
}

MPT_TEST(noisy, quiet_pass)
{
	MPT_ASSERT(1);
}
