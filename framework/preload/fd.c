/* Descriptor tracking (fd-leak). Placeholder hooks until the fd tracking
 * lands in this file: no findings yet. */
#include "shim.h"

void mpt__fd_before_exec(void) {}
void mpt__fd_at_exit(void) {}
