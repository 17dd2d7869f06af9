/* The runner: runs jobs (API tests or a program) each in its own contained
 * process tree, -j at a time, from one single-threaded event loop. */
#ifndef MPT_RUNNER_H
#define MPT_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mpt_test;
struct mpt__region;
struct mpt__result;

struct mpt__job {
	char *name;                  /* the program's name; NULL for an API
				      * test, whose "suite/name" is made from
				      * test when needed */
	const struct mpt_test *test; /* an API test, or NULL */
	char **argv;                 /* a program to exec (mpt-run), or NULL */
	int64_t timeout_ns;          /* already scaled by the multiplier */
	unsigned allow;              /* MPT_ALLOW_* bits of the test */
	int skip;                    /* listed but not run */
};

/* --max-procs when the command line does not say. */
#define MPT__DEFAULT_MAX_PROCS 1024

struct mpt__config {
	const char *prog;            /* our name, for messages */
	const char *suite_name;      /* the JUnit testsuite name */
	int jobs;
	int tap, quiet, verbose;
	const char *json, *junit;
	const char *graph;           /* --graph: the first deadlock's DOT graph */
	unsigned allow;              /* MPT_ALLOW_* bits for the whole run */
	unsigned long long seed;
	int exit_internal;           /* 99 for test programs, 3 for mpt-run */
	int exit_error;              /* when a test could not run at all */
	int inherit_stdin;           /* mpt-run: the program reads our stdin */
	int no_cgroup;               /* force the fallback containment */
	const char *preload;         /* libmptest-preload.so for exec'd
					programs, or NULL */
	void (*leader_init)(void);   /* API tests: turn the linked-in shim on */
	/* Running a test's tree under a tool (--valgrind, --faketime): */
	char *const *wrap;           /* argv prefix the leader execs through */
	const char *extra_preload;   /* loaded after the shim (libfaketime) */
	char *const *extra_env;      /* "NAME=value" for the test's tree */
	int reexec;                  /* API tests: the leader re-executes the
					test program (--mpt-leader=NAME) so the
					wrapper and preloads apply to it too */
	/* Called once per test when its tree is gone, before the verdict
	 * (--valgrind reads each process's log into findings, --faketime
	 * removes libfaketime's files); start_ns is mpt__now_ns() at start. */
	void (*after_test)(void *arg, struct mpt__region *region, pid_t leader,
			   int64_t start_ns, struct mpt__result *r);
	void *after_test_arg;
	struct mpt__inject_plan *inject; /* --inject, --pipe-capacity, --sched;
					    or NULL (framework/plan/plan.h) */
	/* Per-test resource limits (framework/preload/limits.c): */
	unsigned max_procs;          /* --max-procs: processes of a test not yet
					reaped, leader included; 0: no limit */
	unsigned long long max_memory; /* --max-memory: bytes of address space
					  per process (RLIMIT_AS), and of the
					  test (memory.max) where the cgroup
					  has that controller; 0: no limit */
};

/* Runs the jobs and writes the reports; returns the exit code. */
int mpt__run(const struct mpt__config *cfg, struct mpt__job *jobs, size_t n);

#endif
