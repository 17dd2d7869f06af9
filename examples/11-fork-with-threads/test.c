/* The service as a test: linked with buggy.c or fixed.c (whichever defines
 * run_hook), built with -DNO_MAIN. malloc() or fprintf() in the child of a
 * fork() in a threaded process is a fork-with-threads finding. */
#include <mptest.h>

#include "hooks.h"

MPT_TEST(hooks, every_hook_runs)
{
	MPT_ASSERT_EQ(run_service(), 0);
}
