/* Valgrind (--valgrind[=ARGS]): where valgrind is, the extra options, and
 * reading each process's log (DIR/vg.PID, written with -q, so it holds
 * only what Valgrind had to say; DIR/vg.PID.N for the programs the process
 * ran before an exec) into findings.
 *
 * A log is a series of blocks separated by an empty "==PID== " line. An
 * error is a block with a stack ("at 0x...: fn (file.c:12)"); warnings,
 * the fd and leak tables someone may have asked for, and "still reachable"
 * or "indirectly lost" leak records are not errors. "Process terminating
 * with default action of signal N" is not an error either: it is where a
 * crash happened, and goes into that process's crash finding. */
#define _GNU_SOURCE
#include "integrations.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "../core/kinds.h"
#include "../core/region.h"
#include "../core/util.h"
#include "../report/report.h"

#define LOG_MAX (8 << 20)     /* bytes read from one log */
#define PER_PROCESS 20        /* findings per process; then a count */
#define REPORT_LINES 16       /* lines of Valgrind's report in a finding */

/* Why p cannot be run as valgrind, or NULL when it can. */
static const char *not_executable(const char *p)
{
	struct stat st;
	if (!p || !*p || stat(p, &st) != 0)
		return "no such file";
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? "a directory, not the valgrind program"
					   : "not a regular file";
	if (access(p, X_OK) != 0)
		return "not executable";
	return NULL;
}

static char *executable(const char *p)
{
	return not_executable(p) ? NULL : mpt__xstrdup(p);
}

char *mpt__valgrind_path(const char **why)
{
	const char *env = getenv("MPT_VALGRIND");
	*why = NULL;
	if (env && *env) {
		const char *problem = not_executable(env);
		if (problem && access(env, F_OK) == 0)
			*why = problem;
		return problem ? NULL : mpt__xstrdup(env);
	}
	char *p = executable(MPT_VALGRIND_PATH);
	if (p)
		return p;
	const char *path = getenv("PATH");
	if (!path)
		return NULL;
	char *dirs = mpt__xstrdup(path), *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d && !p; d = strtok_r(NULL, ":", &save)) {
		char *c = mpt__xasprintf("%s/valgrind", *d ? d : ".");
		p = executable(c);
		free(c);
	}
	free(dirs);
	return p;
}

/* Options that would take Valgrind's report away from mptest. */
static const char *const owned[] = {"--log-file", "--log-fd", "--log-socket",
				    "--xml", NULL};

/* Options mptest sets itself, which the user may only repeat with the same
 * value: anything else would quietly defeat the checks. */
static const struct {
	const char *name, *value, *why;
} fixed[] = {
	{"--trace-children", "yes", "mptest runs every process of the test, "
	 "exec'd programs included, under Valgrind (--trace-children=yes); drop this "
	 "option (--trace-children-skip=PATTERN leaves chosen programs out)"},
	{"--child-silent-after-fork", "no", "mptest reads the errors of forked "
	 "children too (--child-silent-after-fork=no); drop this option"},
	{"--tool", "memcheck", "mptest turns Memcheck's reports into findings and "
	 "reads no other tool's; drop this option (run valgrind --tool=... yourself "
	 "for the others)"},
	{"--vgdb", "no", "a process waiting for a debugger would hang the test "
	 "(mptest sets --vgdb=no); drop this option"},
};

/* Options that print something and exit instead of running the program. */
static const char *const no_run[] = {"-h", "--help", "--help-debug",
				     "--help-dyn-options", "--version", NULL};

/* Why tok cannot be one of the user's options, or NULL when it can. */
static const char *refused(const char *tok)
{
	if (tok[0] != '-')
		return "not a Valgrind option (options start with -; several are "
		       "separated by spaces or commas: --valgrind=--leak-check=full,"
		       "--track-origins=yes)";
	for (int k = 0; owned[k]; k++) {
		size_t l = strlen(owned[k]);
		if (!strncmp(tok, owned[k], l) && (tok[l] == '=' || tok[l] == 0 ||
						   tok[l] == '-'))
			return "mptest keeps Valgrind's log itself, one per process, "
			       "to turn it into findings; drop this option";
	}
	for (size_t k = 0; k < sizeof fixed / sizeof *fixed; k++) {
		size_t l = strlen(fixed[k].name);
		if (!strncmp(tok, fixed[k].name, l) && (tok[l] == '=' || tok[l] == 0) &&
		    !(tok[l] == '=' && !strcmp(tok + l + 1, fixed[k].value)))
			return fixed[k].why;
	}
	for (int k = 0; no_run[k]; k++)
		if (!strcmp(tok, no_run[k]))
			return "Valgrind would print this and exit without running "
			       "the test; drop this option";
	return NULL;
}

char **mpt__valgrind_split(const char *args, int *n, char **bad, const char **why)
{
	char **v = mpt__xcalloc(strlen(args) / 2 + 2, sizeof *v);
	*n = 0;
	const char *p = args;
	for (;;) {
		while (isspace((unsigned char)*p) || *p == ',')
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && !isspace((unsigned char)*p) && !(*p == ',' && p[1] == '-'))
			p++;
		char *tok = mpt__xasprintf("%.*s", (int)(p - start), start);
		const char *problem = refused(tok);
		if (problem) {
			*bad = tok;
			*why = problem;
			for (int i = 0; i < *n; i++)
				free(v[i]);
			free(v);
			return NULL;
		}
		v[(*n)++] = tok;
	}
	return v;
}

/* ---- reading a log ------------------------------------------------------- */

/* The text of a log line after its "==PID== " (or "**PID** ", "--PID-- ")
 * prefix; NULL for a line without one. */
static const char *strip(const char *line)
{
	char c = line[0];
	if ((c != '=' && c != '*' && c != '-') || line[1] != c)
		return NULL;
	const char *p = line + 2;
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	if (p[0] != c || p[1] != c)
		return NULL;
	p += 2;
	return *p == ' ' ? p + 1 : p;
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "Thread 2:" before an error in a threaded process. */
static int thread_line(const char *l)
{
	size_t len = strlen(l);
	return starts(l, "Thread ") && len > 8 && l[len - 1] == ':';
}

/* The frame a reader wants first: the first one outside Valgrind's own
 * preloads ("by 0x...: main (t.c:9)" rather than "at 0x...: free (in
 * vgpreload_memcheck...)"), as "main (t.c:9)". */
static int frame_of(char **lines, int n, char *out, size_t size)
{
	const char *first = NULL;
	for (int i = 1; i < n; i++) {
		const char *l = lines[i];
		while (*l == ' ')
			l++;
		if (!starts(l, "at 0x") && !starts(l, "by 0x"))
			continue;
		const char *fn = strstr(l, ": ");
		if (!fn)
			continue;
		fn += 2;
		if (!first)
			first = fn;
		if (!strstr(fn, "vgpreload_")) {
			snprintf(out, size, "%s", fn);
			return 1;
		}
	}
	if (first)
		snprintf(out, size, "%s", first);
	return first != NULL;
}

static int has_stack(char **lines, int n)
{
	for (int i = 1; i < n; i++) {
		const char *l = lines[i];
		while (*l == ' ')
			l++;
		if (starts(l, "at 0x"))
			return 1;
	}
	return 0;
}

static int is_error(char **lines, int n)
{
	if (n > 1 && thread_line(lines[0])) {
		lines++;
		n--;
	}
	static const char *const not_errors[] = {
		"Warning", "WARNING", "Process terminating", "FILE DESCRIPTORS",
		"Open file descriptor", "Open AF_", "HEAP SUMMARY", "LEAK SUMMARY",
		"ERROR SUMMARY", NULL,
	};
	for (int k = 0; not_errors[k]; k++)
		if (starts(lines[0], not_errors[k]))
			return 0;
	if (strstr(lines[0], "are still reachable in loss record") ||
	    strstr(lines[0], "are indirectly lost in loss record"))
		return 0;
	return has_stack(lines, n);
}

static char *join(char **lines, int n, int max)
{
	struct mpt__buf b = {0};
	for (int i = 0; i < n && i < max; i++) {
		mpt__buf_puts(&b, lines[i]);
		mpt__buf_puts(&b, "\n");
	}
	if (n > max)
		mpt__buf_printf(&b, "... (%d more lines)\n", n - max);
	char *s = b.p ? b.p : mpt__xstrdup("");
	size_t len = strlen(s);
	if (len && s[len - 1] == '\n')
		s[len - 1] = 0;
	return s;
}

struct who {
	pid_t pid;
	const char *id;       /* logical id, or NULL */
	char prog[40];
	int errors;
};

static void add_error(struct who *w, char **lines, int n, struct mpt__result *r)
{
	if (++w->errors > PER_PROCESS)
		return;
	char where[200] = "", *msg;
	frame_of(lines, n, where, sizeof where);
	int th = n > 1 && thread_line(lines[0]);
	const char *head = lines[th];
	char thread[32] = "";
	if (th)
		snprintf(thread, sizeof thread, " (%.*s)", (int)strlen(lines[0]) - 1, lines[0]);
	if (w->id)
		msg = mpt__xasprintf("%s (pid %d%s%s): %s%s%s%s", w->id, (int)w->pid,
				     w->prog[0] ? ", " : "", w->prog, head,
				     where[0] ? " at " : "", where, thread);
	else
		msg = mpt__xasprintf("%s%s%s%s", head, where[0] ? " at " : "", where, thread);
	char *report = join(lines, n, REPORT_LINES);
	char *detail = mpt__xasprintf(
		"Valgrind's report:\n%s\nFix the first error first: later ones often "
		"follow from it (--valgrind=--track-origins=yes says where an "
		"uninitialised value came from).", report);
	mpt__result_add(r, MPT__K_VALGRIND, w->pid, w->id, msg, detail);
	free(report);
	free(detail);
	free(msg);
}

/* Where a process crashed, added to its crash finding when there is one
 * (in place of the advice to run it under Valgrind). */
static void add_crash_stack(struct who *w, char **lines, int n, struct mpt__result *r)
{
	static const char advice[] = "Run it under --valgrind or a debugger to see "
				     "where it crashed.";
	int keep = 0;
	while (keep < n && !starts(lines[keep], " If you believe this happened"))
		keep++;
	for (struct mpt__finding *f = r->findings; f; f = f->next) {
		if (f->kind != MPT__K_CRASH || f->pid != w->pid)
			continue;
		char *was = f->detail ? f->detail : mpt__xstrdup("");
		char *cut = strstr(was, advice);
		if (cut)
			memmove(cut, cut + sizeof advice - 1, strlen(cut + sizeof advice - 1) + 1);
		size_t len = strlen(was);
		while (len && (was[len - 1] == ' ' || was[len - 1] == '\n'))
			was[--len] = 0;
		char *stack = join(lines, keep, 12);
		f->detail = mpt__xasprintf("%s%sWhere Valgrind saw it end:\n%s", was,
					   len ? "\n" : "", stack);
		free(was);
		free(stack);
		return;
	}
}

static void read_log(const char *path, struct who *w, struct mpt__result *r)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char *text = mpt__xmalloc(LOG_MAX + 1);
	size_t len = fread(text, 1, LOG_MAX, f);
	fclose(f);
	text[len] = 0;
	int cap = 64, n = 0;
	char **lines = mpt__xcalloc((size_t)cap, sizeof *lines);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
		const char *body = line ? strip(line) : "";
		if (line && !body)
			continue; /* not Valgrind's (a tool's plain output) */
		if (*body) {
			if (n == cap)
				lines = mpt__xrealloc(lines, sizeof *lines * (size_t)(cap *= 2));
			lines[n++] = (char *)body;
			continue;
		}
		/* An empty line, or the end: a block is complete. */
		if (n && starts(lines[n > 1 && thread_line(lines[0])],
				"Process terminating with default action"))
			add_crash_stack(w, lines, n, r);
		else if (n && is_error(lines, n))
			add_error(w, lines, n, r);
		n = 0;
		if (!line)
			break;
	}
	if (w->errors > PER_PROCESS) {
		char *msg = mpt__xasprintf("%d more Valgrind errors in %s (pid %d) "
					   "were not listed", w->errors - PER_PROCESS,
					   w->id ? w->id : "this process", (int)w->pid);
		mpt__result_add(r, MPT__K_VALGRIND, w->pid, w->id, msg, NULL);
		free(msg);
	}
	free(lines);
	free(text);
}

/* Reads one log into findings and removes it. */
static void take_log(const char *path, struct who *w, struct mpt__result *r)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return;
	if (st.st_size > 0)
		read_log(path, w, r);
	unlink(path);
}

/* The logs of pid: DIR/vg.PID.1, .2, ... for the programs it ran before
 * each exec (the shim moves them aside), then DIR/vg.PID for the last. */
static void take(const char *dir, struct mpt__region *g, pid_t pid, struct mpt__result *r)
{
	struct who w = {.pid = pid};
	struct mpt__proc *p = g ? mpt__proc_find(g, pid) : NULL;
	if (p)
		w.id = p->id;
	char *path;
	for (int n = 1;; n++) {
		path = mpt__xasprintf("%s/vg.%d.%d", dir, (int)pid, n);
		int there = access(path, F_OK) == 0;
		if (there)
			take_log(path, &w, r);
		free(path);
		if (!there)
			break;
	}
	/* The table names the program the process ran last: only this log's. */
	if (p)
		snprintf(w.prog, sizeof w.prog, "%.*s", (int)sizeof p->prog, p->prog);
	path = mpt__xasprintf("%s/vg.%d", dir, (int)pid);
	take_log(path, &w, r);
	free(path);
}

void mpt__valgrind_collect(const char *dir, struct mpt__region *g,
			   const pid_t *pids, int n, int take_all,
			   struct mpt__result *r)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			take(dir, g, pids[i], r);
	if (!take_all)
		return;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		if (strncmp(e->d_name, "vg.", 3) != 0)
			continue;
		long pid = strtol(e->d_name + 3, &end, 10);
		if ((*end == 0 || *end == '.') && pid > 0)
			take(dir, g, (pid_t)pid, r);
	}
	if (d)
		closedir(d);
}
