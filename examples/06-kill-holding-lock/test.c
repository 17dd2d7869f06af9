/* The journal as a test: linked with buggy.c or fixed.c (whichever defines
 * shutdown_workers), built with -DNO_MAIN. A worker that dies holding the
 * process-shared mutex is a lock-held finding. */
#include <mptest.h>

#include "journal.h"

MPT_TEST(journal, shutdown_releases_the_lock)
{
	MPT_ASSERT_EQ(run_journal(), 0);
}
