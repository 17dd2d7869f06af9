/* stdio buffers across fork (stdio-duplicate). Placeholder hooks until the
 * check lands in this file: no findings yet. */
#include "shim.h"

void mpt__stdio_fork_prepare(void) {}
void mpt__stdio_fork_parent(void) {}
void mpt__stdio_fork_child(void) {}
void mpt__stdio_at_exit(int via_exit) { (void)via_exit; }
