/* API tests for the process hygiene checks (buggy and fixed twins). */
#include <mptest.h>

MPT_TEST(hyg_proc, placeholder_until_checks_land) { MPT_ASSERT(1); }
