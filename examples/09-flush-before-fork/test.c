/* The sales report as a test: linked with buggy.c or fixed.c (whichever
 * defines start_region), built with -DNO_MAIN. A test's stdout is a pipe,
 * so fully buffered, as in CI: a child that writes the parent's buffered
 * header again is a stdio-duplicate finding. */
#include <mptest.h>

#include "regions.h"

MPT_TEST(regions, header_printed_once)
{
	MPT_ASSERT_EQ(print_report(), 0);
}
