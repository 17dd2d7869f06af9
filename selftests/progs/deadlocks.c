/* Deadlocks and their slow-but-moving twins, for selftests/check_deadlock.c. */
#include <mptest.h>

MPT_TEST(deadlock, placeholder_until_watchdog_lands) { MPT_ASSERT(1); }
