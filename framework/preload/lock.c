/* Lock tracking (lock-held). Placeholder hooks until lock tracking lands in
 * this file: no findings yet. */
#include "shim.h"

void mpt__lock_at_exit(void) {}
