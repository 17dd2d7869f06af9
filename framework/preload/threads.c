/* fork() in a threaded process (fork-with-threads). Placeholder hooks until
 * the check lands in this file: no findings yet. */
#include "shim.h"

void mpt__threads_fork_prepare(void) {}
void mpt__threads_fork_child(void) {}
