/* libFuzzer harness for the whole command line (framework/cli/options.c):
 * mpt__parse_opts, as test programs (mpt_main) and mpt-run call it, over
 * an argv made from the input, with the environment it reads.
 *
 * Input: byte 0 holds flags, the rest is split at NUL and newline bytes
 * into tokens. Flag bit 0: mpt-run's mode (else a test program's). Bit 1:
 * the first token is MPT_TIMEOUT_MULTIPLIER. Bit 2: the next two tokens
 * are TEST_TOTAL_SHARDS and TEST_SHARD_INDEX. Bit 3: the tools are
 * "installed" (MPT_VALGRIND=/bin/true, MPT_FAKETIME_LIB and the preload
 * library /dev/null), so --valgrind and --faketime go as far as making
 * Valgrind's log directory, in a scratch TMPDIR. The other tokens are
 * argv[1..].
 *
 * Besides what the sanitizers catch, it checks the contracts of the
 * command line:
 *  - the parser returns 0 or 2 and never exits;
 *  - a rejection is one line on stderr, "PROG: TOKEN — why (hint)";
 *    an acceptance prints nothing;
 *  - what was accepted is in range (jobs, repeat, shard, timeout,
 *    multiplier), filters and mpt-run's program point into argv;
 *  - argv is not written to, and the same argv parses the same way again;
 *  - freeing the options leaves nothing behind in TMPDIR. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../framework/cli/options.h"
#include "../../framework/plan/plan.h"
#include "fuzz.h"

#define MAX_TOKENS 64
#define PROG "fz"

static char tmpdir[4096];

static void remove_tmpdir(void)
{
	rmdir(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/mptest-fuzzopt.XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		abort();
	atexit(remove_tmpdir);
	return 0;
}

/* Runs the parser with stderr captured; returns its code. */
static int parse(int argc, char **argv, int mode, int tools, struct mpt__opts *o,
		 char **err, size_t *errlen)
{
	memset(o, 0, sizeof *o);
	o->cfg.prog = PROG;
	if (tools)
		o->cfg.preload = "/dev/null";
	FILE *saved = stderr;
	stderr = open_memstream(err, errlen);
	CHECK(stderr);
	int rc = mpt__parse_opts(argc, argv, mode, o);
	fclose(stderr);
	stderr = saved;
	return rc;
}

static int in_argv(char **argv, int argc, const char *p)
{
	for (int i = 0; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return 1;
	return 0;
}

static void check_accepted(int argc, char **argv, int mode, const struct mpt__opts *o)
{
	const struct mpt__config *c = &o->cfg;
	CHECK(c->jobs >= 1 && c->jobs <= 1024);
	CHECK(o->repeat >= 1 && o->repeat <= 1000000);
	CHECK(o->shard_n == 0 || o->shard_k < o->shard_n);
	CHECK(o->shard_n <= 1000000);
	CHECK(o->timeout_ns == 0 ||
	      (o->timeout_ns >= 1 && o->timeout_ns <= 1000000000000000000LL));
	CHECK(o->multiplier > 0 && o->multiplier <= 1e7);
	CHECK(o->nfilters >= 0 && o->nfilters < argc);
	for (int i = 0; i < o->nfilters; i++)
		CHECK(in_argv(argv, argc, o->filters[i]));
	if (c->json)
		CHECK(*c->json && in_argv(argv, argc, c->json));
	if (c->junit)
		CHECK(*c->junit && in_argv(argv, argc, c->junit));
	if (c->graph)
		CHECK(*c->graph && in_argv(argv, argc, c->graph));
	if (c->inject) {
		CHECK(c->inject->nrules <= MPT__MAX_RULES);
		/* Up to /proc/sys/fs/pipe-max-size, at most 2 GiB. */
		CHECK(c->inject->pipe_capacity >= 0);
	}
	if (mode == MPT__MODE_RUN && !o->help) {
		/* PROGRAM ARGS... is the tail of argv. */
		CHECK(o->rest && o->rest > argv && o->rest < argv + argc);
		CHECK(o->rest[argc - (o->rest - argv)] == NULL);
	} else {
		CHECK(!o->rest);
	}
	int64_t t = mpt__timeout_for(o, 0);
	CHECK(t >= 1000000 && t <= 100000000000000000LL);
	t = mpt__timeout_for(o, 1);
	CHECK(t >= 1000000 && t <= 100000000000000000LL);
}

static void check_rejected(const char *err, size_t len)
{
	/* "fz: TOKEN — why (hint)\n", one line. */
	CHECK(len > strlen(PROG ": ") + 2);
	CHECK(!strncmp(err, PROG ": ", strlen(PROG ": ")));
	CHECK(err[len - 1] == '\n');
	CHECK(memchr(err, '\n', len) == err + len - 1);
	CHECK(strlen(err) == len);
	CHECK(err[len - 2] == ')');
}

static void set_env(const char *name, const char *value)
{
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

static int tmpdir_empty(void)
{
	DIR *d = opendir(tmpdir);
	CHECK(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0];
	int mode = flags & 1 ? MPT__MODE_RUN : MPT__MODE_TESTS;
	int tools = !!(flags & 8);

	/* Tokens: the input after the flags, split at NUL and newline. */
	char *text = malloc(size);
	CHECK(text);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	char *tok[MAX_TOKENS];
	int ntok = 0;
	size_t start = 0;
	for (size_t i = 0; i <= size - 1 && ntok < MAX_TOKENS; i++) {
		if (i == size - 1 || text[i] == 0 || text[i] == '\n') {
			text[i] = 0;
			tok[ntok++] = text + start;
			start = i + 1;
		}
	}
	int t = 0;
	set_env("MPT_TIMEOUT_MULTIPLIER", (flags & 2) && t < ntok ? tok[t++] : NULL);
	set_env("TEST_TOTAL_SHARDS", (flags & 4) && t < ntok ? tok[t++] : NULL);
	set_env("TEST_SHARD_INDEX", (flags & 4) && t < ntok ? tok[t++] : NULL);
	unsetenv("TEST_SHARD_STATUS_FILE");
	set_env("MPT_VALGRIND", tools ? "/bin/true" : "/nonexistent/valgrind");
	set_env("MPT_FAKETIME_LIB", tools ? "/dev/null" : "/nonexistent/libfaketime.so.1");
	setenv("TMPDIR", tmpdir, 1);

	int argc = 1 + ntok - t;
	char **argv = calloc((size_t)argc + 1, sizeof *argv);
	char **copy = calloc((size_t)argc + 1, sizeof *copy);
	CHECK(argv && copy);
	argv[0] = PROG;
	for (int i = 1; i < argc; i++)
		argv[i] = tok[t + i - 1];
	for (int i = 0; i < argc; i++)
		copy[i] = strdup(argv[i]);

	struct mpt__opts o, again;
	char *err = NULL, *err2 = NULL;
	size_t len = 0, len2 = 0;
	int rc = parse(argc, argv, mode, tools, &o, &err, &len);
	CHECK(rc == 0 || rc == 2);
	if (rc == 0) {
		CHECK(len == 0);
		check_accepted(argc, argv, mode, &o);
	} else {
		check_rejected(err, len);
	}
	for (int i = 0; i < argc; i++)
		CHECK(!strcmp(argv[i], copy[i]));

	/* The same argv, the same outcome. */
	int rc2 = parse(argc, argv, mode, tools, &again, &err2, &len2);
	CHECK(rc2 == rc);
	CHECK(len2 == len && !memcmp(err, err2, len));
	if (rc == 0) {
		CHECK(again.cfg.jobs == o.cfg.jobs);
		CHECK(again.repeat == o.repeat);
		CHECK(again.shard_k == o.shard_k && again.shard_n == o.shard_n);
		CHECK(again.timeout_ns == o.timeout_ns);
		CHECK(again.cfg.seed == o.cfg.seed);
		CHECK(again.cfg.allow == o.cfg.allow);
		CHECK(again.nfilters == o.nfilters);
		CHECK(again.rest == o.rest);
		CHECK(again.help == o.help && again.list == o.list);
		CHECK(again.cfg.tap == o.cfg.tap);
		CHECK(!o.cfg.inject == !again.cfg.inject);
		if (o.cfg.inject)
			CHECK(!memcmp(o.cfg.inject, again.cfg.inject, sizeof *o.cfg.inject));
	}
	mpt__opts_free(&o);
	mpt__opts_free(&again);
	CHECK(tmpdir_empty());

	free(err);
	free(err2);
	for (int i = 0; i < argc; i++)
		free(copy[i]);
	free(copy);
	free(argv);
	free(text);
	return 0;
}
