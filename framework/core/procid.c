#define _GNU_SOURCE
#include "procid.h"

#include <pthread.h>
#include <unistd.h>

#include "region.h"

static char lid[48] = "?";
static unsigned nforks;

static void before_fork(void)
{
	if (mpt__current)
		nforks++;
}

/* Runs in the child right after fork(): async-signal-safe work only, since
 * the parent may have had other threads. */
static void in_child(void)
{
	if (!mpt__current)
		return;
	size_t len = 0;
	while (lid[len])
		len++;
	char digits[12];
	int nd = 0;
	unsigned v = nforks;
	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (len + 1 + (size_t)nd < sizeof lid) {
		lid[len++] = '.';
		while (nd)
			lid[len++] = digits[--nd];
		lid[len] = 0;
	}
	nforks = 0;
	mpt__proc_add(mpt__current, getpid(), getppid(), lid);
}

void mpt__procid_leader_init(void)
{
	static int registered;
	lid[0] = 'p';
	lid[1] = '0';
	lid[2] = 0;
	nforks = 0;
	if (!registered && pthread_atfork(before_fork, NULL, in_child) == 0)
		registered = 1;
	if (mpt__current)
		mpt__proc_add(mpt__current, getpid(), getppid(), lid);
}

const char *mpt__procid(void)
{
	return lid;
}
