/* The pool as a test: linked with buggy.c or fixed.c (whichever defines
 * pool_stop), built with -DNO_MAIN. A worker still busy when the test ends
 * is a leaked-process finding. */
#include <mptest.h>

#include "pool.h"

MPT_TEST(pool, stop_joins_every_worker)
{
	struct pool p;
	MPT_ASSERT_OK(pool_start(&p, 2));
	MPT_ASSERT_OK(pool_submit(&p, (struct job){ 1, 1 }));
	MPT_ASSERT_OK(pool_submit(&p, (struct job){ 2, 300 }));   /* a slow one */
	pool_stop(&p);
	mpt_assert_no_children();   /* stopped means gone, and reaped */
}
