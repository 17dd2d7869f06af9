#define _GNU_SOURCE
#include "options.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../include/mptest.h"
#include "../core/kinds.h"
#include "../core/util.h"
#include "../integrations/integrations.h"
#include "../plan/plan.h"

#define DEFAULT_TIMEOUT_NS 30000000000LL

void mpt__usage(FILE *f, int mode, const char *prog)
{
	if (mode == MPT__MODE_RUN)
		fprintf(f, "usage: %s [OPTIONS] -- PROGRAM [ARGS...]\n"
			   "Runs PROGRAM as one test in a contained process tree.\n\n", prog);
	else
		fprintf(f, "usage: %s [OPTIONS]\nRuns the tests in this program, "
			   "each in its own process tree.\n\n", prog);
	if (mode == MPT__MODE_TESTS)
		fputs("  --list              list the tests (after --filter and --shard) and exit\n"
		      "  --filter=GLOB       run the tests whose suite/name matches GLOB (repeatable);\n"
		      "                      filters that match no test are an error (exit 2)\n"
		      "  -j N, --jobs=N      run N tests at once (default 1)\n"
		      "  --shard=K/N         run shard K of N (1 <= K <= N); also TEST_TOTAL_SHARDS\n"
		      "                      and TEST_SHARD_INDEX (0-based) from Bazel, and then\n"
		      "                      TEST_SHARD_STATUS_FILE is created; an empty shard passes\n"
		      "  --repeat=N          run every test N times\n", f);
	fputs("  --timeout=DUR       per-test limit, default 30s: a number with h, m, s, ms or\n"
	      "                      us, or bare seconds; at least 1ms (MPT_TIMEOUT_MULTIPLIER,\n"
	      "                      above 0 and at most 1e6, scales it)\n"
	      "  --max-procs=N       at most N live processes per test, zombies included: fork()\n"
	      "                      fails with EAGAIN beyond (default 1024; 0 or unlimited: none)\n"
	      "  --max-memory=SIZE   address space per process of a test, e.g. 64M (K, M, G;\n"
	      "                      at least 1M; default: no limit)\n"
	      "  --json=FILE         write the JSON report to FILE (atomically)\n"
	      "  --junit=FILE        write a JUnit XML report to FILE (atomically)\n"
	      "  --tap               print TAP 14 on stdout instead of the human report\n"
	      "  --allow=KIND        do not report findings of KIND (repeatable)\n"
	      "  --graph=FILE        write the first deadlock's wait-for graph (Graphviz DOT)\n"
	      "  --seed=N            the seed of --inject p= rules and --sched=perturb\n"
	      "  --inject=RULE       inject a fault: TARGET:ACTION[:WHEN...][@PROCESS],\n"
	      "                      e.g. read:error=EINTR:nth=1@p0 (repeatable; README)\n"
	      "  --pipe-capacity=BYTES  make every pipe of the test hold at most BYTES\n"
	      "                      (1 or more; below 4096 emulated in write/writev)\n"
	      "  --sched=perturb     seeded 0-2 ms delays at interposed calls and points\n"
	      "  --faketime=SPEC     run the test's processes under libfaketime with\n"
	      "                      FAKETIME=SPEC, e.g. '+0 x10' (ten times faster)\n"
	      "  --valgrind[=ARGS]   run every process of the test under Valgrind's memcheck;\n"
	      "                      each error is a finding; timeouts x10; ARGS: more\n"
	      "                      Valgrind options, separated by spaces or commas\n"
	      "  -q, --quiet         print only failures and the closing line\n"
	      "  -v, --verbose       show the output of passing tests too\n"
	      "  -h, --help          this text\n", f);
	fputs("Not yet available (later releases; they exit 2): --explore,\n"
	      "  --sched=serial, --trace.\n", f);
	fprintf(f, "Exit codes: 0 all passed, 1 a test failed, 2 bad usage, %s internal error.\n",
		mode == MPT__MODE_RUN ? "3" : "99");
}

static int bad(const char *prog, const char *tok, const char *why, const char *hint)
{
	fprintf(stderr, "%s: %s — %s (%s)\n", prog, tok, why, hint);
	return 2;
}

/* The value of "--name=value" for name, or NULL if arg is not that option. */
static const char *value_of(const char *arg, const char *name, int *matched)
{
	size_t n = strlen(name);
	if (strncmp(arg, name, n) != 0)
		return NULL;
	if (arg[n] == '=') {
		*matched = 1;
		return arg + n + 1;
	}
	if (arg[n] == 0)
		*matched = 2; /* present without a value */
	return NULL;
}

/* A report's FILE: checked before any test runs, so that a report that
 * cannot be written fails the run at once (exit 2) instead of after it.
 * The file is made in its directory and renamed over FILE at the end;
 * /dev/stdout, /dev/fd/N, a FIFO or a character device is written in
 * place (mpt__write_target). */
static int report_path(const char *prog, const char *arg, const char *file,
		       const char *expected)
{
	if (!*file)
		return bad(prog, arg, "empty file name", expected);
	int target = mpt__write_target(file);
	if (target >= 0) {
		int fl = fcntl(target, F_GETFL);
		if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY) {
			char *why = mpt__xasprintf("descriptor %d is %s", target,
						   fl < 0 ? "not open" : "open for reading only");
			int rc = bad(prog, arg, why, "expected a descriptor open for writing");
			free(why);
			return rc;
		}
		return 0;
	}
	if (target == MPT__TARGET_DIRECT) {
		if (access(file, W_OK) == 0)
			return 0;
		char *why = mpt__xasprintf("cannot write it: %s", strerror(errno));
		int rc = bad(prog, arg, why, "expected a FIFO or device open to writing");
		free(why);
		return rc;
	}
	if (target == MPT__TARGET_OTHER)
		return bad(prog, arg, "neither a file, a FIFO nor a character device", expected);
	const char *slash = strrchr(file, '/');
	char *dir = slash ? strndup(file, slash == file ? 1 : (size_t)(slash - file))
			  : strdup(".");
	if (!dir)
		return bad(prog, arg, "out of memory", expected);
	struct stat st;
	int rc = 0, dir_ok = stat(dir, &st) == 0;
	if (slash && !slash[1]) {
		rc = bad(prog, arg, "names a directory", expected);
	} else if (!dir_ok || !S_ISDIR(st.st_mode)) {
		char *why = mpt__xasprintf("its directory %s: %s", dir,
					   dir_ok ? "not a directory" : strerror(errno));
		rc = bad(prog, arg, why, "expected a file in an existing, writable directory");
		free(why);
	} else if (access(dir, W_OK | X_OK) != 0) {
		char *why = mpt__xasprintf("cannot write in %s: %s", dir, strerror(errno));
		rc = bad(prog, arg, why, "expected a file in a writable directory");
		free(why);
	} else if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = bad(prog, arg, "names a directory", expected);
	}
	free(dir);
	return rc;
}

static const char *const later[] = {
	"--explore", "--trace", NULL,
};

static int parse_shard(const char *v, struct mpt__opts *o)
{
	const char *slash = strchr(v, '/');
	if (!slash)
		return -1;
	char k[32];
	size_t kl = (size_t)(slash - v);
	if (kl == 0 || kl >= sizeof k)
		return -1;
	memcpy(k, v, kl);
	k[kl] = 0;
	unsigned long long kk, nn;
	if (mpt__parse_uint(k, 1, 1000000, &kk) || mpt__parse_uint(slash + 1, 1, 1000000, &nn) ||
	    kk > nn)
		return -1;
	o->shard_k = kk - 1;
	o->shard_n = nn;
	return 0;
}

/* --max-procs=N: 1 to 100000, or 0 or "unlimited" for no limit. */
static int parse_max_procs(const char *v, unsigned *out)
{
	unsigned long long n;
	if (!strcmp(v, "unlimited")) {
		*out = 0;
		return 0;
	}
	if (mpt__parse_uint(v, 0, 100000, &n))
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* --max-memory=SIZE: bytes, or a number with K, M or G (powers of 1024), at
 * least 1M; 0 or "unlimited" for no limit. */
static int parse_max_memory(const char *v, unsigned long long *out)
{
	if (!strcmp(v, "unlimited")) {
		*out = 0;
		return 0;
	}
	char num[32];
	size_t len = strlen(v);
	if (len == 0 || len >= sizeof num)
		return -1;
	memcpy(num, v, len + 1);
	unsigned shift = 0;
	switch (num[len - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	}
	if (shift)
		num[--len] = 0;
	unsigned long long n;
	if (len == 0 || mpt__parse_uint(num, 0, 1ULL << (50 - shift), &n))
		return -1;
	n <<= shift;
	if (n && n < (1ULL << 20))
		return -1;
	*out = n;
	return 0;
}

static int env_config(const char *prog, struct mpt__opts *o)
{
	const char *m = getenv("MPT_TIMEOUT_MULTIPLIER");
	if (m && *m) {
		char *end;
		double v = strtod(m, &end);
		if (end == m || *end || !(v > 0) || v > 1e6) {
			char *tok = mpt__xasprintf("MPT_TIMEOUT_MULTIPLIER=%s", m);
			int rc = bad(prog, tok, "not a positive number up to 1e6",
				     "expected a number above 0 and at most 1000000, e.g. 2 or 0.5");
			free(tok);
			return rc;
		}
		o->multiplier = v;
	}
	const char *total = getenv("TEST_TOTAL_SHARDS"), *index = getenv("TEST_SHARD_INDEX");
	if (total && *total) {
		unsigned long long t, i = 0;
		if (mpt__parse_uint(total, 1, 1000000, &t))
			return bad(prog, "TEST_TOTAL_SHARDS", "not a shard count",
				   "expected a whole number >= 1");
		if (!index || !*index)
			return bad(prog, "TEST_SHARD_INDEX", "missing while TEST_TOTAL_SHARDS is set",
				   "expected both, as Bazel sets them: 0 <= index < TEST_TOTAL_SHARDS");
		if (mpt__parse_uint(index, 0, t - 1, &i))
			return bad(prog, "TEST_SHARD_INDEX", "not a shard index",
				   "expected 0 <= index < TEST_TOTAL_SHARDS");
		o->shard_n = t;
		o->shard_k = i;
		o->shard_status_file = getenv("TEST_SHARD_STATUS_FILE");
	}
	return 0;
}

int mpt__parse_opts(int argc, char **argv, int mode, struct mpt__opts *o)
{
	const char *prog = o->cfg.prog;
	o->cfg.jobs = 1;
	o->cfg.max_procs = MPT__DEFAULT_MAX_PROCS;
	o->multiplier = 1;
	o->repeat = 1;
	int rc = env_config(prog, o);
	if (rc)
		return rc;
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		int m = 0;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == 0) {
			if (mode == MPT__MODE_RUN)
				break; /* the program */
			return bad(prog, a, "unexpected argument",
				   "test programs take only options; see --help");
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			o->help = 1;
			continue;
		}
		if (!strcmp(a, "--tap")) {
			o->cfg.tap = 1;
			continue;
		}
		if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			o->cfg.quiet = 1;
			continue;
		}
		if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o->cfg.verbose = 1;
			continue;
		}
		if ((v = value_of(a, "--timeout", &m))) {
			const char *why;
			if (mpt__parse_duration(v, &o->timeout_ns, &why))
				return bad(prog, a, "not a duration", why);
			if (o->timeout_ns < 1000000)
				return bad(prog, a, "below 1 ms, the shortest timeout",
					   "expected a duration of at least 1ms, such as 30s or 250ms");
			continue;
		}
		if ((v = value_of(a, "--max-procs", &m))) {
			if (parse_max_procs(v, &o->cfg.max_procs))
				return bad(prog, a, "not a process count",
					   "expected a whole number from 1 to 100000, or 0 or "
					   "unlimited for no limit");
			continue;
		}
		if ((v = value_of(a, "--max-memory", &m))) {
			if (parse_max_memory(v, &o->cfg.max_memory))
				return bad(prog, a, "not a memory size",
					   "expected bytes or a number with K, M or G, at least 1M, "
					   "e.g. 64M; 0 or unlimited for no limit");
			continue;
		}
		if ((v = value_of(a, "--json", &m))) {
			if ((rc = report_path(prog, a, v, "expected --json=FILE")))
				return rc;
			o->cfg.json = v;
			continue;
		}
		if ((v = value_of(a, "--junit", &m))) {
			if ((rc = report_path(prog, a, v, "expected --junit=FILE")))
				return rc;
			o->cfg.junit = v;
			continue;
		}
		if ((v = value_of(a, "--graph", &m))) {
			if ((rc = report_path(prog, a, v, "expected --graph=FILE")))
				return rc;
			o->cfg.graph = v;
			continue;
		}
		if ((v = value_of(a, "--allow", &m))) {
			int k = mpt__kind_parse(v);
			if (k < 0) {
				char *hint = mpt__xasprintf("expected one of: %s", mpt__kind_list());
				rc = bad(prog, a, "unknown finding kind", hint);
				free(hint);
				return rc;
			}
			o->cfg.allow |= 1u << k;
			continue;
		}
		if ((v = value_of(a, "--faketime", &m))) {
			if ((rc = mpt__tools_faketime(&o->tools, prog, a, v)))
				return rc;
			continue;
		}
		if (!strcmp(a, "--valgrind") || (v = value_of(a, "--valgrind", &m))) {
			/* The bare form: no extra Valgrind options. */
			if ((rc = mpt__tools_valgrind(&o->tools, prog, a,
						      strcmp(a, "--valgrind") ? v : NULL)))
				return rc;
			continue;
		}
		if ((v = value_of(a, "--seed", &m))) {
			if (mpt__parse_uint(v, 0, ~0ULL, &o->cfg.seed))
				return bad(prog, a, "not a seed", "expected a whole number >= 0");
			continue;
		}
		/* --inject, --pipe-capacity, --sched (framework/plan/plan.c) */
		if ((rc = mpt__plan_option(&o->cfg.inject, prog, a)) >= 0) {
			if (rc)
				return rc;
			continue;
		}
		if (mode == MPT__MODE_TESTS) {
			if (!strcmp(a, "--list")) {
				o->list = 1;
				continue;
			}
			if ((v = value_of(a, "--filter", &m))) {
				if (!*v)
					return bad(prog, a, "empty pattern",
						   "expected a glob on suite/name, e.g. pipes/*");
				o->filters = mpt__xrealloc(o->filters, sizeof(char *) * (size_t)(o->nfilters + 1));
				o->filters[o->nfilters++] = (char *)v;
				continue;
			}
			const char *jv = NULL;
			if (!strcmp(a, "-j")) {
				if (i + 1 >= argc)
					return bad(prog, a, "missing job count", "expected -j N");
				jv = argv[++i];
			} else if (!strncmp(a, "-j", 2)) {
				jv = a + 2;
			} else if ((v = value_of(a, "--jobs", &m))) {
				jv = v;
			}
			if (jv) {
				unsigned long long n;
				if (mpt__parse_uint(jv, 1, 1024, &n)) {
					/* -j N: the token is both words. */
					char *tok = jv == argv[i] ? mpt__xasprintf("-j %s", jv)
								  : mpt__xstrdup(a);
					rc = bad(prog, tok, "not a job count",
						 "expected a whole number from 1 to 1024");
					free(tok);
					return rc;
				}
				o->cfg.jobs = (int)n;
				continue;
			}
			if ((v = value_of(a, "--shard", &m))) {
				if (parse_shard(v, o))
					return bad(prog, a, "not a shard", "expected K/N with 1 <= K <= N");
				o->shard_status_file = NULL;
				continue;
			}
			if ((v = value_of(a, "--repeat", &m))) {
				if (mpt__parse_uint(v, 1, 1000000, &o->repeat))
					return bad(prog, a, "not a repeat count",
						   "expected a whole number from 1 to 1000000");
				continue;
			}
		}
		for (int k = 0; later[k]; k++) {
			size_t n = strlen(later[k]);
			if (!strncmp(a, later[k], n) && (a[n] == 0 || a[n] == '='))
				return bad(prog, later[k], "not available yet in this version of mptest",
					   "--help lists the options this version has");
		}
		if (m == 2)
			return bad(prog, a, "missing value", "use the --option=VALUE form");
		return bad(prog, a, "unknown option", "see --help");
	}
	if (mode == MPT__MODE_RUN && !o->help) {
		if (i >= argc)
			return bad(prog, "PROGRAM", "missing", "expected: mpt-run [OPTIONS] -- PROGRAM [ARGS...]");
		o->rest = argv + i;
	} else if (i < argc) {
		return bad(prog, argv[i], "unexpected argument", "test programs take only options");
	}
	if (o->help)
		return 0;
	return mpt__tools_configure(o->tools, &o->cfg, &o->multiplier,
				    mode == MPT__MODE_TESTS && !o->list);
}

int mpt__opts_selects(const struct mpt__opts *o, const char *name)
{
	if (!o->nfilters)
		return 1;
	for (int i = 0; i < o->nfilters; i++)
		if (fnmatch(o->filters[i], name, 0) == 0)
			return 1;
	return 0;
}

int mpt__opts_no_match(const struct mpt__opts *o, size_t matched)
{
	if (!o->nfilters || matched || o->list)
		return 0;
	char *tok = mpt__xstrdup("");
	for (int i = 0; i < o->nfilters; i++) {
		char *t = mpt__xasprintf("%s%s--filter=%s", tok, i ? " " : "", o->filters[i]);
		free(tok);
		tok = t;
	}
	int rc = bad(o->cfg.prog, tok, "no test matches",
		     "expected a glob on suite/name; --list shows the names");
	free(tok);
	return rc;
}

int mpt__opts_in_shard(const struct mpt__opts *o, unsigned long long index)
{
	return !o->shard_n || index % o->shard_n == o->shard_k;
}

void mpt__opts_free(struct mpt__opts *o)
{
	free(o->filters);
	o->filters = NULL;
	mpt__tools_free(o->tools);
	o->tools = NULL;
	mpt__plan_free(o->cfg.inject);
	o->cfg.inject = NULL;
}

/* libmptest-preload.so beside the object this code was loaded from (the
 * libmptest of a test program, or mpt-run): in that directory, in its
 * .libs (libtool's build layout, for mpt-run in the build tree) or in its
 * mptest/ (the installed layout, pkglibdir below libdir). Asked before the
 * configured path, so that a build tree's programs take their own build's
 * library, not an older one installed. The result is an absolute path:
 * LD_PRELOAD is read again in every program the test execs, from any
 * working directory. */
static const char *preload_beside_me(void)
{
	static char found[PATH_MAX];
	char self[PATH_MAX] = "";
	Dl_info info;
	if (dladdr((void *)mpt__preload_path, &info) && info.dli_fname &&
	    strchr(info.dli_fname, '/'))
		snprintf(self, sizeof self, "%s", info.dli_fname);
	else {
		/* The main program (mpt-run) may be named without a path. */
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		self[n > 0 ? n : 0] = 0;
	}
	char *slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	static const char *const below[] = {"", ".libs/", "mptest/"};
	for (size_t i = 0; i < sizeof below / sizeof below[0]; i++) {
		char candidate[PATH_MAX + 32];
		snprintf(candidate, sizeof candidate, "%.*s/%slibmptest-preload.so",
			 (int)(slash - self), self, below[i]);
		if (access(candidate, R_OK) == 0 && realpath(candidate, found))
			return found;
	}
	return NULL;
}

const char *mpt__preload_path(void)
{
	const char *env = getenv("MPT_PRELOAD");
	if (env && *env)
		return access(env, R_OK) == 0 ? env : NULL;
	const char *p = preload_beside_me();
	if (p)
		return p;
	return access(MPT_PRELOAD_PATH, R_OK) == 0 ? MPT_PRELOAD_PATH : NULL;
}

int64_t mpt__timeout_for(const struct mpt__opts *o, int own_ms)
{
	double base = own_ms > 0 ? own_ms * 1e6
		     : o->timeout_ns ? (double)o->timeout_ns : (double)DEFAULT_TIMEOUT_NS;
	double t = base * o->multiplier;
	if (t < 1e6)
		t = 1e6;
	if (t > 1e17)
		t = 1e17;
	return (int64_t)t;
}
