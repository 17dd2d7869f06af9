/* The archiver as a test: linked with buggy.c or fixed.c (whichever
 * defines send_job/recv_job), built with -DNO_MAIN. A worker that dies of
 * SIGSEGV is a crash finding, whatever the parent makes of it. */
#include <mptest.h>

#include "archive.h"

MPT_TEST(archive, every_job_reaches_the_worker)
{
	MPT_ASSERT_EQ(run_archiver(), 0);
}
