/* The command line every runner accepts (DESIGN §4, §5). */
#ifndef MPT_OPTIONS_H
#define MPT_OPTIONS_H

#include <stdio.h>

#include "../runner/runner.h"

enum { MPT__MODE_TESTS, MPT__MODE_RUN };

struct mpt__opts {
	struct mpt__config cfg;
	int64_t timeout_ns;          /* --timeout, or 0 for the default */
	double multiplier;           /* MPT_TIMEOUT_MULTIPLIER */
	char **filters;              /* --filter=GLOB, any of them */
	int nfilters;
	int list;
	unsigned long long shard_k, shard_n; /* 0-based index, count; n=0: none */
	const char *shard_status_file;
	unsigned long long repeat;
	char **rest;                 /* mpt-run: PROGRAM ARGS... */
	int help;
	struct mpt__tools *tools;    /* --faketime, --valgrind, or NULL */
};

/* Parses argv. Returns 0, or prints one line naming the bad token and what
 * was expected and returns 2. */
int mpt__parse_opts(int argc, char **argv, int mode, struct mpt__opts *o);
void mpt__opts_free(struct mpt__opts *o);
/* Whether the test suite/name is selected by the --filter globs (any of
 * them; every test when there is none). */
int mpt__opts_selects(const struct mpt__opts *o, const char *name);
/* When --filter was given and matched none of the tests (matched: how
 * many it did, before sharding): prints one line and returns 2; else 0.
 * --list shows an empty list instead. */
int mpt__opts_no_match(const struct mpt__opts *o, size_t matched);
/* Whether the index-th selected test (0-based) is in this run's shard:
 * shards split the filtered list round-robin. */
int mpt__opts_in_shard(const struct mpt__opts *o, unsigned long long index);
/* Prints the usage text for the mode. */
void mpt__usage(FILE *f, int mode, const char *prog);
/* libmptest-preload.so: MPT_PRELOAD when set (and only there), else beside
 * the libmptest (or mpt-run) this code runs in (its directory, .libs/ or
 * mptest/), else where it is installed; NULL when it is not there. */
const char *mpt__preload_path(void);
/* The effective timeout for a test whose own is own_ms (0: none). */
int64_t mpt__timeout_for(const struct mpt__opts *o, int own_ms);

#endif
