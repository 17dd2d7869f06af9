/* The leaderboard as a test: linked with buggy.c or fixed.c (whichever
 * defines start_sort), built with -DNO_MAIN. A pipe end carried into sort
 * across exec is an fd-leak finding (and the hang it causes a deadlock). */
#include <mptest.h>

#include "sorter.h"

MPT_TEST(sorter, sort_sees_end_of_input)
{
	MPT_ASSERT_EQ(print_leaderboard(), 0);
}
