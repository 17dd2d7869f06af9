#define _GNU_SOURCE
/* mpt-run: runs an unmodified program as one test, with the same
 * containment, timeout, crash and exit-status handling and the same reports
 * as a test program (DESIGN §5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

int main(int argc, char **argv)
{
	struct mpt__opts o = {0};
	o.cfg.prog = "mpt-run";
	o.cfg.exit_internal = 3;
	o.cfg.exit_error = 2; /* the program could not be started */
	o.cfg.inherit_stdin = 1;
	int rc = mpt__parse_opts(argc, argv, MPT__MODE_RUN, &o);
	if (rc || o.help) {
		if (o.help)
			mpt__usage(stdout, MPT__MODE_RUN, "mpt-run");
		mpt__opts_free(&o);
		return rc;
	}
	o.cfg.preload = mpt__preload_path();
	if (!o.cfg.preload) {
		fprintf(stderr, "mpt-run: libmptest-preload.so — not found at %s (per-process "
			"checks need it; set MPT_PRELOAD=/path/to/libmptest-preload.so)\n",
			getenv("MPT_PRELOAD") ? getenv("MPT_PRELOAD") : MPT_PRELOAD_PATH);
		mpt__opts_free(&o); /* and Valgrind's log directory */
		return 2;
	}
	const char *slash = strrchr(o.rest[0], '/');
	struct mpt__job job = {
		.name = (char *)(slash ? slash + 1 : o.rest[0]),
		.argv = o.rest,
		.timeout_ns = mpt__timeout_for(&o, 0),
	};
	o.cfg.suite_name = "mpt-run";
	rc = mpt__run(&o.cfg, &job, 1);
	mpt__opts_free(&o);
	return rc;
}
