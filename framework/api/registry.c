/* The test registry and mpt_main(): tests register themselves from
 * constructors (MPT_TEST), so no list is written by hand. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "../../include/mptest.h"
#include "../cli/options.h"
#include "../core/procid.h"
#include "../core/region.h"
#include "../core/util.h"

void mpt__shim_enable(void); /* framework/preload/shim.c */

static struct mpt_test *head;
static size_t count;

void mpt_register(struct mpt_test *t)
{
	t->mpt__next = head;
	head = t;
	count++;
}

static int by_place(const void *a, const void *b)
{
	const struct mpt_test *x = *(const struct mpt_test *const *)a;
	const struct mpt_test *y = *(const struct mpt_test *const *)b;
	int c = strcmp(x->file, y->file);
	return c ? c : x->line - y->line;
}

/* The leader side of a re-executed test (--valgrind, --faketime): the
 * runner forked a leader, which exec'd this program (perhaps through a
 * tool) to run one test; the session region arrives in MPT_REGION_FD. */
static int run_as_leader(const char *name)
{
	struct mpt_test *t = head;
	for (; t; t = t->mpt__next) {
		char *full = mpt__xasprintf("%s/%s", t->suite, t->name);
		int same = strcmp(full, name) == 0;
		free(full);
		if (same)
			break;
	}
	mpt__current = mpt__region_attach_env();
	if (!t || !mpt__current) {
		fprintf(stderr, "mptest: --mpt-leader=%s — %s (this option is the "
			"runner's own)\n", name, t ? "no session region" : "no such test");
		return 99;
	}
	mpt__shim_enable();
	mpt__procid_attach();
	t->fn();
	atomic_store(&mpt__current->body_done, 1);
	exit(0);
}

/* A test program started inside another mptest session (mpt-run --
 * ./tests, or a test that execs one) has the outer session's preload
 * library in it, whose wrappers would take this program's own tests for
 * processes of the outer test and file their findings there, while its
 * own runner printed PASS. It runs as a test program like any other
 * instead: executed again without the outer preload library and region,
 * it is its own runner (the outer run still contains its tree, and sees
 * its exit status). Returns only if that cannot be done. */
static void leave_outer_session(char **argv)
{
	const char *fdv = getenv("MPT_REGION_FD"), *pre = getenv("LD_PRELOAD");
	if (!fdv || !*fdv || !pre || !strstr(pre, "libmptest-preload"))
		return;
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len <= 0)
		return;
	self[len] = 0;
	/* LD_PRELOAD without the shim (entries are separated by ':' or
	 * spaces); what else was preloaded (libfaketime) stays. */
	char *keep = mpt__xstrdup(pre), *out = mpt__xcalloc(strlen(pre) + 1, 1), *save = NULL;
	for (char *e = strtok_r(keep, ": ", &save); e; e = strtok_r(NULL, ": ", &save)) {
		const char *base = strrchr(e, '/');
		if (!strncmp(base ? base + 1 : e, "libmptest-preload", 17))
			continue;
		if (*out)
			strcat(out, ":");
		strcat(out, e);
	}
	if (*out)
		setenv("LD_PRELOAD", out, 1);
	else
		unsetenv("LD_PRELOAD");
	free(keep);
	free(out);
	int fd = atoi(fdv);
	if (fd > 2)
		close(fd);
	unsetenv("MPT_REGION_FD");
	execv(self, argv);
	/* Not executable again: go on inside the outer session, as before. */
	setenv("MPT_REGION_FD", fdv, 1);
	setenv("LD_PRELOAD", pre, 1);
}

int mpt_main(int argc, char **argv)
{
	if (argc == 2 && strncmp(argv[1], "--mpt-leader=", 13) == 0)
		return run_as_leader(argv[1] + 13);
	leave_outer_session(argv);
	struct mpt__opts o = {0};
	const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
	const char *prog = argc > 0 ? (slash ? slash + 1 : argv[0]) : "mptest";
	o.cfg.prog = prog;
	o.cfg.suite_name = prog;
	o.cfg.exit_internal = 99;
	o.cfg.exit_error = 99;
	o.cfg.preload = mpt__preload_path();
	o.cfg.leader_init = mpt__shim_enable;
	int rc = mpt__parse_opts(argc, argv, MPT__MODE_TESTS, &o);
	if (rc) {
		mpt__opts_free(&o);
		return rc;
	}
	if (o.help) {
		mpt__usage(stdout, MPT__MODE_TESTS, prog);
		mpt__opts_free(&o);
		return 0;
	}

	/* Definition order: by file, then line. */
	struct mpt_test **all = mpt__xcalloc(count, sizeof *all);
	size_t n = 0;
	for (struct mpt_test *t = head; t; t = t->mpt__next)
		all[n++] = t;
	qsort(all, n, sizeof *all, by_place);

	size_t nsel = 0, index = 0;
	char **names = mpt__xcalloc(n, sizeof *names);
	for (size_t i = 0; i < n; i++) {
		char *name = mpt__xasprintf("%s/%s", all[i]->suite, all[i]->name);
		if (!mpt__opts_selects(&o, name)) {
			free(name);
			continue;
		}
		if (!mpt__opts_in_shard(&o, index++)) {
			free(name);
			continue;
		}
		all[nsel] = all[i];
		if (o.list) {
			names[nsel++] = name;
		} else {
			free(name); /* the runner makes it again when needed */
			nsel++;
		}
	}
	if (o.shard_status_file) {
		/* Bazel's question: does this program shard? */
		int fd = open(o.shard_status_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		else
			fprintf(stderr, "%s: TEST_SHARD_STATUS_FILE=%s — cannot create it: %s "
				"(Bazel will take this program for one that does not shard)\n",
				prog, o.shard_status_file, strerror(errno));
	}
	/* index: the tests the filters matched, before sharding. */
	if ((rc = mpt__opts_no_match(&o, index)) != 0) {
		free(names);
		free(all);
		mpt__opts_free(&o);
		return rc;
	}

	if (!o.list && !o.cfg.preload) {
		/* The tests still run, and everything done in the test
		 * program's own processes is checked; what a program they
		 * exec does is not, which a user should know once per run. */
		const char *env = getenv("MPT_PRELOAD");
		fprintf(stderr, "%s: libmptest-preload.so — not found %s%s; programs the "
			"tests exec run unwatched (set MPT_PRELOAD=/path/to/"
			"libmptest-preload.so)\n", prog,
			env && *env ? "at MPT_PRELOAD=" : "beside libmptest nor where "
			"it is installed", env && *env ? env : "");
	}
	if (o.list) {
		for (size_t i = 0; i < nsel; i++)
			printf("%s\n", names[i]);
		int err = fflush(stdout) != 0 ? errno : 0;
		rc = 0;
		if (err || ferror(stdout)) {
			fprintf(stderr, "%s: --list — cannot write to standard output%s%s\n",
				prog, err ? ": " : "", err ? strerror(err) : "");
			rc = 99;
		}
	} else {
		size_t njobs = nsel * o.repeat;
		struct mpt__job *jobs = mpt__xcalloc(njobs, sizeof *jobs);
		for (size_t r = 0, j = 0; r < o.repeat; r++)
			for (size_t i = 0; i < nsel; i++, j++) {
				jobs[j].test = all[i];
				jobs[j].timeout_ns = mpt__timeout_for(&o, all[i]->opt.timeout_ms);
				jobs[j].allow = all[i]->opt.allow;
				jobs[j].skip = all[i]->opt.skip;
			}
		rc = mpt__run(&o.cfg, jobs, njobs);
		free(jobs);
	}
	for (size_t i = 0; o.list && i < nsel; i++)
		free(names[i]);
	free(names);
	free(all);
	mpt__opts_free(&o);
	return rc;
}
