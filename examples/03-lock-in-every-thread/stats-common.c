/* The server's workers, the reporter thread, and the test: after the
 * workers have served their requests, the periods the reporter closed must
 * add up to every request served — none counted twice, none lost. */
#include <fcntl.h>
#include <mptest.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"

#define WORKERS 3
#define REQUESTS 100000

static struct stats *stats_create(void)
{
	struct stats *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return NULL;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&s->lock, &a);
	pthread_mutexattr_destroy(&a);
	s->requests = s->bytes = 0;
	return s;
}

/* Handling a request is a little work of its own (here: checksumming the
 * reply); counting it is a short critical section. */
static long handle_request(int i, unsigned char *reply, size_t len)
{
	unsigned sum = (unsigned)i;
	for (size_t k = 0; k < len; k++) {
		reply[k] = (unsigned char)(sum >> 3);
		sum = sum * 31 + reply[k];
	}
	return (long)(len - (sum & 1));
}

static void serve_requests(struct stats *s)
{
	unsigned char reply[512];
	for (int i = 0; i < REQUESTS; i++) {
		long bytes = handle_request(i, reply, sizeof reply);
		pthread_mutex_lock(&s->lock);
		s->requests++;
		s->bytes += bytes;
		pthread_mutex_unlock(&s->lock);
	}
	_exit(0);
}

struct reporter {
	struct stats *stats;
	atomic_int stop;
	long requests, bytes;   /* every closed period, added up */
	int periods;
};

static void close_period(struct reporter *r)
{
	struct stats period;
	take_period(r->stats, &period);
	r->requests += period.requests;
	r->bytes += period.bytes;
	r->periods++;
}

static void *reporter_main(void *arg)
{
	struct reporter *r = arg;
	const struct timespec tick = { 0, 200000 };
	while (!atomic_load(&r->stop)) {
		nanosleep(&tick, NULL);
		close_period(r);
	}
	return NULL;
}

static char dashboard_dir[] = "/tmp/stats-XXXXXX";

/* The dashboard reads the last period from a small file, replaced
 * atomically (a new file renamed over the old one) so that it never sees
 * half of one. */
void publish_period(const struct stats *period)
{
	char tmp[64], path[64], text[128];
	snprintf(tmp, sizeof tmp, "%s/period.new", dashboard_dir);
	snprintf(path, sizeof path, "%s/period", dashboard_dir);
	int len = snprintf(text, sizeof text, "requests %ld\nbytes %ld\n",
			   period->requests, period->bytes);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, text, (size_t)len) == len)
		rename(tmp, path);
	close(fd);
}

static void remove_dashboard(void)
{
	char path[64];
	snprintf(path, sizeof path, "%s/period", dashboard_dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/period.new", dashboard_dir);
	unlink(path);
	rmdir(dashboard_dir);
}

MPT_TEST(stats, every_request_is_counted_once)
{
	struct reporter r = { .stats = stats_create() };
	MPT_ASSERT(r.stats != NULL);
	MPT_ASSERT(mkdtemp(dashboard_dir) != NULL);
	pid_t pid[WORKERS];
	for (int w = 0; w < WORKERS; w++) {
		pid[w] = MPT_ASSERT_OK(fork());
		if (pid[w] == 0)
			serve_requests(r.stats);
	}
	pthread_t t;
	MPT_ASSERT_EQ(pthread_create(&t, NULL, reporter_main, &r), 0);
	for (int w = 0; w < WORKERS; w++)
		mpt_wait_exited(pid[w], 0);
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	close_period(&r); /* what came in after the last tick */

	remove_dashboard();
	pthread_mutex_destroy(&r.stats->lock);
	munmap(r.stats, sizeof *r.stats);

	long served = (long)WORKERS * REQUESTS, counted = r.requests;
	MPT_ASSERT_EQ(counted, served);
}
