/* Finding kinds (DESIGN §6) and test verdicts. */
#ifndef MPT_KINDS_H
#define MPT_KINDS_H

enum mpt__kind {
	MPT__K_ZOMBIE,
	MPT__K_LEAKED_PROCESS,
	MPT__K_FD_LEAK,
	MPT__K_LOCK_HELD,
	MPT__K_DEADLOCK,
	MPT__K_TIMEOUT,
	MPT__K_CRASH,
	MPT__K_STDIO_DUPLICATE,
	MPT__K_FORK_WITH_THREADS,
	MPT__K_ASSERTION,
	MPT__K_EXIT_STATUS,
	MPT__K_VALGRIND,
	MPT__K_RESOURCE_LIMIT,
	MPT__K_COUNT,
	/* Not findings: records a test process writes for the runner. */
	MPT__K_SKIP = 100,
	MPT__K_ERROR = 101,
};

/* "zombie", "leaked-process", ...; NULL for an unknown kind. */
const char *mpt__kind_name(int kind);
/* The kind for a name, or -1. */
int mpt__kind_parse(const char *name);
/* A comma-separated list of every kind, for messages. */
const char *mpt__kind_list(void);

enum mpt__status { MPT__PASS, MPT__FAIL, MPT__SKIP, MPT__ERROR };
const char *mpt__status_name(int status);

#endif
