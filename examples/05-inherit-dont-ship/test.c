/* The renderer as a test: linked with buggy.c or fixed.c (whichever
 * defines run_reports), built with -DNO_MAIN. A descriptor the test opened
 * and never closed is an fd-leak finding. */
#include <mptest.h>

#include "reports.h"

MPT_TEST(reports, every_report_written_no_fd_left)
{
	MPT_ASSERT_EQ(run_reports(), 0);
}
