/* The shop as a test: linked with buggy.c or fixed.c (whichever defines
 * next_order_number), built with -DNO_MAIN — libmptest supplies main().
 * The program's own invariant becomes an assertion. */
#include <mptest.h>

#include "orders.h"

MPT_TEST(orders, no_number_handed_out_twice)
{
	MPT_ASSERT_EQ(run_shop(), 0);
}
