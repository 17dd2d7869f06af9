/* API tests for the fd hygiene checks (buggy and fixed twins). */
#include <mptest.h>

MPT_TEST(hyg_fd, placeholder_until_checks_land) { MPT_ASSERT(1); }
