/* The report reader as a test: linked with buggy.c or fixed.c (whichever
 * defines read_report), built with -DNO_MAIN. A parent in waitpid() for a
 * child blocked on the full pipe is a deadlock finding. */
#include <mptest.h>

#include "report.h"

MPT_TEST(report, small_report)
{
	/* Fits the pipe: passes with buggy.c too; --pipe-capacity=4096 makes
	 * buggy.c deadlock here as well. */
	MPT_ASSERT_EQ(read_report(6000), 0);
}

MPT_TEST(report, report_larger_than_the_pipe)
{
	MPT_ASSERT_EQ(read_report(1000000), 0);
}
