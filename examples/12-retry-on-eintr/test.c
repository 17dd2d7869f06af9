/* The checksum tool as a test: linked with buggy.c or fixed.c (whichever
 * defines read_full/write_full/wait_child), built with -DNO_MAIN. The
 * program's "exit 1" becomes an assertion. */
#include <mptest.h>

#include "io.h"

MPT_TEST(io, result_read_despite_the_spinner)
{
	MPT_ASSERT_EQ(run_checksum(), 0);
}
