/* Bug: the reporter thread reads the counts, publishes them and clears
 * them, all without the lock — it "only reads, then resets". Every request
 * a worker counts between the copy and the reset is wiped out with the
 * period; a reset that lands inside a worker's increment is undone, and
 * that period is counted twice. */
#include "stats.h"

void take_period(struct stats *s, struct stats *period)
{
	period->requests = s->requests;
	period->bytes = s->bytes;
	publish_period(period);
	s->requests = 0;   /* what the workers counted since the copy is lost */
	s->bytes = 0;
}
