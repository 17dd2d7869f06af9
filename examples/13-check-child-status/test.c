/* The converter as a test: linked with buggy.c or fixed.c (whichever
 * defines parse_line/convert_all), built with -DNO_MAIN. mptest sees every
 * process of the tree: a child that dies of SIGSEGV is a crash finding
 * even though convert_all() returns 0. */
#include <mptest.h>

#include "convert.h"

MPT_TEST(convert, no_converter_crashes)
{
	MPT_ASSERT_EQ(convert_all(), 0);
}
