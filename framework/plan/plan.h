/* The fault-injection plan of a run (DESIGN §8): what --inject,
 * --pipe-capacity and --sched asked for, put into each test's region before
 * its leader starts, and the faults the test's processes applied, read back
 * into its result. The shim side is framework/preload/inject.c. */
#ifndef MPT_PLAN_H
#define MPT_PLAN_H

#include "../core/region.h"

struct mpt__result;

struct mpt__inject_plan {
	struct mpt__rule rules[MPT__MAX_RULES];
	unsigned nrules;
	int sched;             /* MPT__SCHED_* */
	int pipe_capacity;     /* bytes (below 4096: emulated), 0: none */
};

/* Parses arg if it is --inject=RULE, --pipe-capacity=BYTES or --sched=MODE
 * into *plan (allocated on first use). Returns -1 if arg is none of them,
 * 0 when parsed, or 2 after printing one line that names the bad token and
 * what was expected. */
int mpt__plan_option(struct mpt__inject_plan **plan, const char *prog,
		     const char *arg);
void mpt__plan_free(struct mpt__inject_plan *plan);

/* Copies the plan (may be NULL) and the seed into a fresh region. */
void mpt__plan_load(struct mpt__region *g, const struct mpt__inject_plan *plan,
		    unsigned long long seed);

/* Adds the faults logged in g to r, in a stable order (process, call,
 * count), so one seed gives the same list run after run. */
void mpt__plan_collect(struct mpt__result *r, struct mpt__region *g);

#endif
