/* Fix: every thread that touches the shared counts takes the lock — the
 * reporter too. The copy and the reset are one step for the workers; the
 * slow part, publishing, happens after the lock is released. */
#include "stats.h"

void take_period(struct stats *s, struct stats *period)
{
	pthread_mutex_lock(&s->lock);
	period->requests = s->requests;
	period->bytes = s->bytes;
	s->requests = 0;
	s->bytes = 0;
	pthread_mutex_unlock(&s->lock);
	publish_period(period);
}
