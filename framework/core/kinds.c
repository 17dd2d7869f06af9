#define _GNU_SOURCE
#include "kinds.h"

#include <string.h>

static const char *const names[MPT__K_COUNT] = {
	[MPT__K_ZOMBIE] = "zombie",
	[MPT__K_LEAKED_PROCESS] = "leaked-process",
	[MPT__K_FD_LEAK] = "fd-leak",
	[MPT__K_LOCK_HELD] = "lock-held",
	[MPT__K_DEADLOCK] = "deadlock",
	[MPT__K_TIMEOUT] = "timeout",
	[MPT__K_CRASH] = "crash",
	[MPT__K_STDIO_DUPLICATE] = "stdio-duplicate",
	[MPT__K_FORK_WITH_THREADS] = "fork-with-threads",
	[MPT__K_ASSERTION] = "assertion",
	[MPT__K_EXIT_STATUS] = "exit-status",
	[MPT__K_VALGRIND] = "valgrind",
	[MPT__K_RESOURCE_LIMIT] = "resource-limit",
};

const char *mpt__kind_name(int kind)
{
	if (kind < 0 || kind >= MPT__K_COUNT)
		return NULL;
	return names[kind];
}

int mpt__kind_parse(const char *name)
{
	for (int k = 0; k < MPT__K_COUNT; k++)
		if (strcmp(names[k], name) == 0)
			return k;
	return -1;
}

const char *mpt__kind_list(void)
{
	return "zombie, leaked-process, fd-leak, lock-held, deadlock, timeout, "
	       "crash, stdio-duplicate, fork-with-threads, assertion, "
	       "exit-status, valgrind, resource-limit";
}

const char *mpt__status_name(int status)
{
	switch (status) {
	case MPT__PASS: return "pass";
	case MPT__FAIL: return "fail";
	case MPT__SKIP: return "skip";
	default: return "error";
	}
}
