/* --faketime and --valgrind on the command line: what each option asks
 * for, checked once every option is read, turned into the runner's
 * configuration, and the work done after each test. */
#define _GNU_SOURCE
#include "integrations.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/region.h"
#include "../core/util.h"
#include "../runner/runner.h"

/* Valgrind slows a program down 10-50x; timeouts scale by this much. */
#define VALGRIND_TIMEOUT_FACTOR 10

struct mpt__tools {
	const char *prog;
	/* --faketime */
	char *faketime;            /* SPEC, or NULL */
	/* --valgrind */
	int valgrind;
	char **vg_args;            /* the user's extra options */
	int vg_nargs;
	char *vg_path;
	char *vg_dir;              /* DIR of DIR/vg.PID, removed at the end */
	/* what the runner is given */
	char **wrap;
	char **env;
	int jobs;
};

static struct mpt__tools *tools(struct mpt__tools **t, const char *prog)
{
	if (!*t)
		*t = mpt__xcalloc(1, sizeof **t);
	(*t)->prog = prog;
	return *t;
}

static int bad(const char *prog, const char *tok, const char *why, const char *hint)
{
	fprintf(stderr, "%s: %s — %s (%s)\n", prog, tok, why, hint);
	return 2;
}

/* A tool that is not there (why NULL), or a variable naming something
 * that is not the tool (why says what it is instead). */
static int bad_setting(const char *prog, const char *option, const char *var,
		       const char *why, const char *absent, const char *hint)
{
	if (!why)
		return bad(prog, option, absent, hint);
	char *tok = mpt__xasprintf("%s=%s", var, getenv(var));
	char *what = mpt__xasprintf("%s for %s", why, option);
	int rc = bad(prog, tok, what, hint);
	free(what);
	free(tok);
	return rc;
}

int mpt__tools_faketime(struct mpt__tools **t, const char *prog, const char *arg,
			const char *spec)
{
	if (!mpt__faketime_spec_ok(spec))
		return bad(prog, arg, "not a libfaketime time",
			   "expected an offset such as '+0 x10' or '-2d', a start "
			   "date '@2024-01-01 12:00:00', or a date '2024-01-01 12:00:00'");
	struct mpt__tools *x = tools(t, prog);
	free(x->faketime);
	x->faketime = mpt__xstrdup(spec);
	return 0;
}

int mpt__tools_valgrind(struct mpt__tools **t, const char *prog, const char *arg,
			const char *args)
{
	struct mpt__tools *x = tools(t, prog);
	x->valgrind = 1;
	if (!args)
		return 0;
	char *tok = NULL;
	const char *why = NULL;
	int n = 0;
	char **v = mpt__valgrind_split(args, &n, &tok, &why);
	if (!v) {
		char *what = mpt__xasprintf("--valgrind=...%s...", tok);
		int rc = bad(prog, strcmp(tok, args) ? what : arg, why,
			     "Valgrind options go after --valgrind=, e.g. "
			     "--valgrind=--leak-check=full");
		free(what);
		free(tok);
		return rc;
	}
	/* Repeated --valgrind=... options add up. */
	x->vg_args = mpt__xrealloc(x->vg_args, sizeof *x->vg_args * (size_t)(x->vg_nargs + n + 1));
	memcpy(x->vg_args + x->vg_nargs, v, sizeof *v * (size_t)n);
	x->vg_nargs += n;
	x->vg_args[x->vg_nargs] = NULL;
	free(v);
	return 0;
}

static void add(char ***v, int *n, char *s)
{
	*v = mpt__xrealloc(*v, sizeof **v * (size_t)(*n + 2));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* FAKETIME_name=value for the tree, unless the user set it already. */
static void env_default(char ***env, int *n, const char *name, const char *value)
{
	if (!getenv(name))
		add(env, n, mpt__xasprintf("%s=%s", name, value));
}

/* With both tools, Valgrind watches libfaketime too, which reads values it
 * never set (in its sleep(), for one): those are not the test's errors.
 * Returns "--suppressions=FILE" for a file written in dir, or NULL. */
static char *faketime_suppressions(const char *dir)
{
	static const char *const kinds[] = {"Cond", "Value8", "Value4", "Param", NULL};
	char *path = mpt__xasprintf("%s/libfaketime.supp", dir);
	FILE *f = fopen(path, "we");
	if (!f) {
		free(path);
		return NULL;
	}
	for (int k = 0; kinds[k]; k++)
		fprintf(f, "{\n   mptest-libfaketime-%s\n   Memcheck:%s\n%s   obj:*/libfaketime*.so*\n}\n",
			kinds[k], kinds[k], strcmp(kinds[k], "Param") ? "" : "   *\n");
	fclose(f);
	char *opt = mpt__xasprintf("--suppressions=%s", path);
	free(path);
	return opt;
}

/* The first line of what Valgrind said, without its "valgrind: " or
 * "==PID== " prefix and without the "Use --help" advice; in a static buffer. */
static const char *first_complaint(const char *text)
{
	static char line[300];
	line[0] = 0;
	for (const char *p = text; *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *q = p;
		if (!strncmp(q, "valgrind: ", 10))
			q += 10;
		else if (q[0] == '=' && q[1] == '=' && (q = strstr(q + 2, "== ")) && q < p + len)
			q += 3;
		else
			q = p;
		size_t n = len - (size_t)(q - p);
		if (n && strncmp(q, "Use --help", 10)) {
			snprintf(line, sizeof line, "%.*s", (int)n, q);
			break;
		}
		p = end ? end + 1 : p + len;
	}
	return line[0] ? line : "it exited with an error and said nothing";
}

/* Runs argv (valgrind, its options, /bin/true) once, its output read into
 * out. Returns 0 when it exited 0, else -1 (*timed_out when it hung). */
static int run_probe(char **argv, char *out, size_t size, int *timed_out)
{
	int fd[2];
	out[0] = 0;
	*timed_out = 0;
	if (pipe2(fd, O_CLOEXEC) < 0)
		return 0; /* cannot tell; the tests will */
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return 0;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		dup2(fd[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	size_t len = 0;
	int64_t deadline = mpt__now_ns() + (int64_t)60 * 1000000000;
	for (;;) {
		int64_t left = (deadline - mpt__now_ns()) / 1000000;
		if (left <= 0) {
			*timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		struct pollfd p = {.fd = fd[0], .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		char buf[1024];
		ssize_t got = read(fd[0], buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		size_t keep = (size_t)got < size - 1 - len ? (size_t)got : size - 1 - len;
		memcpy(out + len, buf, keep);
		len += keep;
	}
	out[len] = 0;
	close(fd[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return !*timed_out && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Valgrind checks its options only when it runs a program: a misspelt one
 * would fail every process of every test, and be reported as the test's
 * exit status. So the user's options run /bin/true once first, and what
 * Valgrind refuses is a usage error naming the option. */
static int probe_valgrind(struct mpt__tools *t, char **wrap, int nwrap)
{
	if (!t->vg_nargs)
		return 0; /* only our own options, which are known to work */
	char **argv = mpt__xcalloc((size_t)nwrap + 2, sizeof *argv);
	int n = 0;
	for (int i = 0; i < nwrap; i++)
		if (strncmp(wrap[i], "--log-file=", 11))
			argv[n++] = wrap[i]; /* a complaint goes to stderr, not a log */
	argv[n++] = access("/bin/true", X_OK) == 0 ? "/bin/true" : "true";
	argv[n] = NULL;
	char out[8192];
	int timed_out;
	int ok = run_probe(argv, out, sizeof out, &timed_out) == 0;
	free(argv);
	if (ok)
		return 0;
	/* The option Valgrind named, or whose value it did (a file it could
	 * not open, a number it could not read). */
	const char *tok = NULL;
	for (int i = 0; i < t->vg_nargs && !tok; i++) {
		const char *eq = strchr(t->vg_args[i], '=');
		if (strstr(out, t->vg_args[i]) || (eq && eq[1] && strstr(out, eq + 1)))
			tok = t->vg_args[i];
	}
	struct mpt__buf what = {0};
	if (tok)
		mpt__buf_printf(&what, "--valgrind=%s%s%s", t->vg_nargs > 1 ? "..." : "", tok,
				t->vg_nargs > 1 ? "..." : "");
	else
		for (int i = 0; i < t->vg_nargs; i++)
			mpt__buf_printf(&what, "%s%s", i ? "," : "--valgrind=", t->vg_args[i]);
	char *why = timed_out
		? mpt__xstrdup("Valgrind did not finish /bin/true within 60 s with these options")
		: mpt__xasprintf("Valgrind refused it: %s", first_complaint(out));
	int rc = bad(t->prog, what.p, why, "valgrind --help lists its options");
	free(why);
	mpt__buf_free(&what);
	return rc;
}

int mpt__tools_configure(struct mpt__tools *t, struct mpt__config *cfg,
			 double *multiplier, int api)
{
	if (!t || (!t->faketime && !t->valgrind))
		return 0;
	const char *why = NULL;
	const char *lib = t->faketime ? mpt__faketime_lib(&why) : NULL;
	if (t->faketime && !lib)
		return bad_setting(t->prog, "--faketime", "MPT_FAKETIME_LIB", why,
				   "libfaketime is not available",
				   "apt-get install libfaketime and re-run configure, or "
				   "set MPT_FAKETIME_LIB=/path/to/libfaketime.so.1");
	if (t->valgrind && !(t->vg_path = mpt__valgrind_path(&why)))
		return bad_setting(t->prog, "--valgrind", "MPT_VALGRIND", why,
				   "Valgrind is not available",
				   "apt-get install valgrind, or set "
				   "MPT_VALGRIND=/path/to/valgrind");
	/* An API test gets the tool by re-executing itself through it; that
	 * takes the preload library, as mpt-run does. */
	if (api && !cfg->preload)
		return bad(t->prog, t->valgrind ? "--valgrind" : "--faketime",
			   "libmptest-preload.so not found", "the tool runs the test "
			   "through it; set MPT_PRELOAD=/path/to/libmptest-preload.so");
	int nenv = 0, nwrap = 0;
	if (t->faketime) {
		cfg->extra_preload = lib;
		add(&t->env, &nenv, mpt__xasprintf("FAKETIME=%s", t->faketime));
		/* Read FAKETIME on every call, so a test that changes it
		 * mid-run is obeyed at once; and one clock for the whole tree,
		 * exec'd programs included, also for a start date ("@..."). */
		env_default(&t->env, &nenv, "FAKETIME_NO_CACHE", "1");
		env_default(&t->env, &nenv, "FAKETIME_DONT_RESET", "1");
	}
	if (t->valgrind) {
		const char *tmp = getenv("TMPDIR");
		t->vg_dir = mpt__xasprintf("%s/mptest-valgrind-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(t->vg_dir)) {
			free(t->vg_dir);
			t->vg_dir = NULL;
			return bad(t->prog, "--valgrind", "cannot make a directory for "
				   "Valgrind's logs", "check that TMPDIR is writable");
		}
		add(&t->wrap, &nwrap, mpt__xstrdup(t->vg_path));
		/* -q: a log holds only what Valgrind had to say; every process,
		 * forked or exec'd, in its own log; no vgdb FIFOs left in /tmp
		 * by a process the harness kills. */
		add(&t->wrap, &nwrap, mpt__xstrdup("-q"));
		add(&t->wrap, &nwrap, mpt__xstrdup("--trace-children=yes"));
		add(&t->wrap, &nwrap, mpt__xstrdup("--child-silent-after-fork=no"));
		add(&t->wrap, &nwrap, mpt__xstrdup("--vgdb=no"));
		add(&t->wrap, &nwrap, mpt__xasprintf("--log-file=%s/vg.%%p", t->vg_dir));
		/* An exec keeps the pid, and its Valgrind would truncate the
		 * log: the shim's exec wrappers move it aside to vg.PID.N. */
		add(&t->env, &nenv, mpt__xasprintf("MPT_VALGRIND_LOGS=%s", t->vg_dir));
		if (t->faketime) {
			char *supp = faketime_suppressions(t->vg_dir);
			if (supp)
				add(&t->wrap, &nwrap, supp);
		}
		for (int i = 0; i < t->vg_nargs; i++)
			add(&t->wrap, &nwrap, mpt__xstrdup(t->vg_args[i]));
		if (probe_valgrind(t, t->wrap, nwrap))
			return 2;
		*multiplier *= VALGRIND_TIMEOUT_FACTOR;
	}
	cfg->wrap = t->wrap;
	cfg->extra_env = t->env;
	cfg->reexec = api;
	cfg->after_test = mpt__tools_after_test;
	cfg->after_test_arg = t;
	t->jobs = cfg->jobs;
	return 0;
}

void mpt__tools_after_test(void *arg, struct mpt__region *g, pid_t leader,
			   int64_t start_ns, struct mpt__result *r)
{
	struct mpt__tools *t = arg;
	pid_t pids[MPT__MAX_PROCS + 1];
	int n = 0;
	pids[n++] = leader;
	unsigned np = g ? atomic_load(&g->nprocs) : 0;
	if (np > MPT__MAX_PROCS)
		np = MPT__MAX_PROCS;
	for (unsigned i = 0; i < np; i++) {
		struct mpt__proc *p = &g->procs[i];
		if (atomic_load_explicit(&p->ready, memory_order_acquire) && p->pid > 0 &&
		    p->pid != leader)
			pids[n++] = p->pid;
	}
	if (t->valgrind && t->vg_dir)
		mpt__valgrind_collect(t->vg_dir, g, pids, n, t->jobs <= 1, r);
	if (t->faketime) {
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		double since = (double)rt.tv_sec + rt.tv_nsec / 1e9 -
			       (double)(mpt__now_ns() - start_ns) / 1e9;
		mpt__faketime_cleanup(pids, n, since);
	}
}

/* Removes DIR; says so when Valgrind wrote about a process that no test's
 * table knew (with -j, only a test's own processes are taken after it). */
static void remove_dir(const char *prog, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int orphans = 0;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = mpt__xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (!strncmp(e->d_name, "vg.", 3) && stat(p, &st) == 0 && st.st_size > 0)
			orphans++;
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	if (orphans)
		fprintf(stderr, "%s: --valgrind — Valgrind reported on %d process%s that "
			"no test knew, and could not be attributed (run with -j 1)\n",
			prog, orphans, orphans == 1 ? "" : "es");
}

static void free_all(char **v)
{
	for (int i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void mpt__tools_free(struct mpt__tools *t)
{
	if (!t)
		return;
	if (t->vg_dir)
		remove_dir(t->prog, t->vg_dir);
	free(t->vg_dir);
	free(t->vg_path);
	free(t->faketime);
	free_all(t->vg_args);
	free_all(t->wrap);
	free_all(t->env);
	free(t);
}
