/* Fix: set up everything the child needs before fork(). (State that must
 * change while the child runs goes to it explicitly: a message on its
 * pipe, or a restart — a child never sees the parent's later writes.) */
#include "greeter.h"

int start_service(struct service *s)
{
	load_config();
	return start_worker(s);
}
