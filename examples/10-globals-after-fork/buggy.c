/* Bug: the worker is forked first "so it is ready sooner", and the
 * configuration is loaded afterwards. fork() gave the worker a copy of the
 * parent's memory as it was then: its config is still empty, and nothing
 * the parent changes later reaches it. */
#include "greeter.h"

int start_service(struct service *s)
{
	int rc = start_worker(s);
	load_config();
	return rc;
}
