/* The worker, the configuration, and the test: a request gets the
 * configured greeting. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mptest.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "greeter.h"

struct config config;

void load_config(void)
{
	/* As read from /etc/greeter.conf. */
	snprintf(config.greeting, sizeof config.greeting, "%s", "Good morning");
	config.loaded = 1;
}

static void worker(int requests, int replies)
{
	char name[64], reply[128];
	ssize_t n;
	while ((n = read(requests, name, sizeof name - 1)) > 0) {
		name[n] = 0;
		int len = snprintf(reply, sizeof reply, "%s, %s!", config.greeting, name);
		if (write(replies, reply, (size_t)len) != len)
			break;
	}
	_exit(0);
}

int start_worker(struct service *s)
{
	int req[2], rep[2];
	if (pipe2(req, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	s->worker = fork();
	if (s->worker < 0)
		return -1;
	if (s->worker == 0) {
		close(req[1]);
		close(rep[0]);
		worker(req[0], rep[1]);
	}
	close(req[0]);
	close(rep[1]);
	s->requests = req[1];
	s->replies = rep[0];
	return 0;
}

MPT_TEST(greeter, replies_with_the_configured_greeting)
{
	struct service s;
	MPT_ASSERT_OK(start_service(&s));
	MPT_ASSERT_EQ(write(s.requests, "Ada", 3), 3);
	char reply[128] = "";
	ssize_t n = MPT_ASSERT_OK(read(s.replies, reply, sizeof reply - 1));
	reply[n] = 0;
	close(s.requests);   /* the worker sees end of file and exits */
	close(s.replies);
	mpt_wait_exited(s.worker, 0);
	MPT_ASSERT_STR_EQ(reply, "Good morning, Ada!");
}
