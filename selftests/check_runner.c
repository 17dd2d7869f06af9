/* The runner's selftests: real test programs and real commands run through
 * the real runner; every verdict, report format and option is asserted
 * from what the runner printed and wrote. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static char *prog(const char *name)
{
	char *p;
	if (asprintf(&p, "%s/selftests/progs/%s", builddir(), name) < 0)
		abort();
	return p;
}

static char *mpt_run(void)
{
	return path_in(builddir(), "mpt-run");
}

static void assert_contains(const char *hay, const char *needle, int line)
{
	ck_assert_msg(hay && strstr(hay, needle), "line %d: expected \"%s\" in:\n%s",
		      line, needle, hay ? hay : "(null)");
}
#define ASSERT_CONTAINS(hay, needle) assert_contains((hay), (needle), __LINE__)

static int lines(const char *s);
/* Runs argv: exit 2, one line on stderr naming token and what was expected,
 * nothing on stdout. */
static void bad_usage(char *const argv[], char *const env[], const char *token,
		      const char *expected);

/* ---- verdicts, through the JSON report --------------------------------- */

static json_object *verdicts_report(int no_cgroup, struct run_result *out)
{
	const char *dir = scratch();
	char *json = path_in(dir, no_cgroup ? "v-fallback.json" : "v.json");
	char *pidfile = path_in(dir, no_cgroup ? "daemon-fb.pid" : "daemon.pid");
	char *env[] = {opt("MPT_SELFTEST_PIDFILE", pidfile),
		       no_cgroup ? "MPT_NO_CGROUP=1" : "MPT_SELFTEST_X=1", NULL};
	char *argv[] = {prog("verdicts"), opt("--json", json), NULL};
	*out = run_cmd(argv, env, 60);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "no JSON report; stdout:\n%s\nstderr:\n%s", out->out, out->err);
	int daemon = read_int_file(pidfile);
	ck_assert_int_gt(daemon, 1);
	ck_assert_msg(!alive(daemon), "the setsid daemon %d survived its test: %s", daemon,
		      proc_stat(daemon));
	return rep;
}

static void check_status(json_object *rep, const char *name, const char *status)
{
	json_object *t = json_test(rep, name);
	ck_assert_msg(t != NULL, "%s missing from the report", name);
	ck_assert_str_eq(json_str(t, "status"), status);
}

static json_object *only_finding(json_object *rep, const char *name, const char *kind,
				 const char *process)
{
	json_object *t = json_test(rep, name);
	ck_assert_msg(t != NULL, "%s missing from the report", name);
	ck_assert_str_eq(json_str(t, "status"), "fail");
	json_object *f = json_finding(t, kind);
	ck_assert_msg(f != NULL, "%s has no %s finding", name, kind);
	if (process)
		ck_assert_str_eq(json_str(f, "process"), process);
	ck_assert_int_gt(json_int(f, "pid"), 1);
	return f;
}

START_TEST(verdicts_every_kind)
{
	struct run_result r;
	json_object *rep = verdicts_report(0, &r);
	ck_assert_int_eq(r.status, 1);

	check_status(rep, "verdict/pass", "pass");
	check_status(rep, "verdict/wait_exited_ok", "pass");
	check_status(rep, "verdict/wait_signaled_ok", "pass");
	check_status(rep, "verdict/leak_allowed", "pass");
	check_status(rep, "verdict/process_ids", "pass");
	ck_assert_int_eq(json_count_kind(json_test(rep, "verdict/pass"), "assertion"), 0);

	json_object *f = only_finding(rep, "verdict/assert_eq_fails", "assertion", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "verdicts.c:");
	ASSERT_CONTAINS(json_str(f, "message"), "MPT_ASSERT_EQ(three, 4)");
	ASSERT_CONTAINS(json_str(f, "message"), "3 == 4");

	f = only_finding(rep, "verdict/assert_str_fails", "assertion", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "\"parent\" != \"child\"");
	f = only_finding(rep, "verdict/assert_ok_fails", "assertion", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "ENOENT");
	ASSERT_CONTAINS(json_str(f, "message"), "No such file or directory");

	f = only_finding(rep, "verdict/crash", "crash", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "SIGSEGV");

	/* The child's failure, though its parent ignored its status. */
	f = only_finding(rep, "verdict/child_assert", "assertion", "p0.1");
	ASSERT_CONTAINS(json_str(f, "message"), "verdicts.c:46");
	f = only_finding(rep, "verdict/grandchild_assert", "assertion", "p0.1.1");
	ASSERT_CONTAINS(json_str(f, "message"), "MPT_ASSERT(q != 0)");

	f = only_finding(rep, "verdict/timeout", "timeout", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "0.3 s");
	ck_assert_int_eq(json_count_kind(json_test(rep, "verdict/timeout"), "crash"), 0);

	f = only_finding(rep, "verdict/wait_exited_wrong", "assertion", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "SIGABRT");
	f = only_finding(rep, "verdict/exit_status", "exit-status", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "status 7");

	check_status(rep, "verdict/skipped", "skip");
	ck_assert_str_eq(json_str(json_test(rep, "verdict/skipped"), "reason"), "needs a second machine");
	check_status(rep, "verdict/disabled", "skip");

	f = only_finding(rep, "verdict/leaks_daemon", "leaked-process", "p0.1.1");
	ck_assert_int_eq(json_count_kind(json_test(rep, "verdict/leaks_daemon"), "leaked-process"), 1);

	json_object *t = json_test(rep, "verdict/ugly_output");
	ASSERT_CONTAINS(json_str(t, "output"), "]]>");
	ASSERT_CONTAINS(json_str(t, "output"), "\x1b[31m");

	json_object *sum;
	ck_assert(json_object_object_get_ex(rep, "summary", &sum));
	ck_assert_int_eq(json_int(sum, "passed"), 5);
	ck_assert_int_eq(json_int(sum, "failed"), 11);
	ck_assert_int_eq(json_int(sum, "skipped"), 2);
	ck_assert_int_eq(json_int(sum, "errors"), 0);
	ck_assert_int_eq(json_int(rep, "mptest"), 1);

	/* The human report ends with the closing count. */
	ASSERT_CONTAINS(r.out, "\n5 passed, 11 failed, 2 skipped\n");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* The same containment guarantees without cgroups: subreaper + tokens. */
START_TEST(verdicts_fallback_containment)
{
	struct run_result r;
	json_object *rep = verdicts_report(1, &r);
	only_finding(rep, "verdict/leaks_daemon", "leaked-process", "p0.1.1");
	only_finding(rep, "verdict/child_assert", "assertion", "p0.1");
	only_finding(rep, "verdict/timeout", "timeout", "p0");
	check_status(rep, "verdict/leak_allowed", "pass");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* -j in the fallback: tests running side by side never claim each other's
 * processes (a new leader still maps its neighbours' regions for a moment). */
START_TEST(fallback_parallel_tests_stay_apart)
{
	char *env[] = {"MPT_NO_CGROUP=1", NULL};
	char *argv[] = {prog("verdicts"), "-j", "4", "--filter=verdict/*_ok",
			"--filter=verdict/pass", "--filter=verdict/process_ids",
			"--repeat=30", NULL};
	struct run_result r = run_cmd(argv, env, 120);
	ck_assert_msg(r.status == 0, "%s", r.out);
	ASSERT_CONTAINS(r.out, "120 passed, 0 failed");
	run_free(&r);
}
END_TEST

/* ---- the public header under -pedantic; mixed-sign comparisons ---------- */

/* progs/asserts is built with -pedantic -Werror by make; here it is
 * compiled again by each of gcc and clang found, as C11 and GNU C11 (the
 * header used statement expressions, __auto_type and an empty variadic
 * argument, which -pedantic users could not compile). */
START_TEST(header_compiles_pedantic)
{
	static const char *const compilers[] = {"gcc", "clang"};
	static const char *const stds[] = {"-std=c11", "-std=gnu11"};
	char *src = path_in(srcdir(), "selftests/progs/asserts.c");
	char *idir;
	if (asprintf(&idir, "-I%s/include", srcdir()) < 0)
		abort();
	int compiled = 0;
	for (size_t c = 0; c < 2; c++) {
		char *probe[] = {"sh", "-c", "command -v \"$0\" >/dev/null", (char *)compilers[c], NULL};
		struct run_result has = run_cmd(probe, NULL, 10);
		int present = has.status == 0;
		run_free(&has);
		if (!present) {
			printf("SKIP: -pedantic compile with %s — not installed\n", compilers[c]);
			continue;
		}
		for (size_t k = 0; k < 2; k++) {
			char *argv[] = {(char *)compilers[c], (char *)stds[k], "-pedantic", "-Wall",
					"-Wextra", "-Wsign-compare", "-Werror", "-fsyntax-only", idir,
					src, NULL};
			struct run_result r = run_cmd(argv, NULL, 60);
			ck_assert_msg(r.status == 0, "%s %s -pedantic -Werror: exit %d\n%s",
				      compilers[c], stds[k], r.status, r.err);
			run_free(&r);
			compiled++;
		}
	}
	ck_assert_int_gt(compiled, 0);
	free(idir);
}
END_TEST

/* int -1 and unsigned 1 compare as numbers: -1 < 1u holds, -1 == UINT_MAX
 * does not, and a failed comparison prints a true statement (it printed
 * "-1 < 1 is false"). */
START_TEST(mixed_sign_assertions_compare_numbers)
{
	char *json = path_in(scratch(), "asserts.json");
	char *argv[] = {prog("asserts"), opt("--json", json), NULL};
	struct run_result r = run_cmd(argv, NULL, 30);
	ck_assert_msg(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	json_object *rep = json_load(json);
	ck_assert_ptr_nonnull(rep);
	expect_clean(json_test(rep, "asserts/every_macro_pedantic"), "every_macro_pedantic");
	expect_clean(json_test(rep, "asserts/with_options"), "with_options");
	expect_clean(json_test(rep, "asserts/mixed_sign_true"), "mixed_sign_true");
	json_object *f = expect_only(json_test(rep, "asserts/mixed_sign_eq_fails"),
				     "mixed_sign_eq_fails", "assertion", "p0");
	ASSERT_CONTAINS(json_str(f, "message"),
			"MPT_ASSERT_EQ(minus, max) failed: -1 == 4294967295 is false");
	f = expect_only(json_test(rep, "asserts/mixed_sign_gt_fails"), "mixed_sign_gt_fails",
			"assertion", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "MPT_ASSERT_GT(minus, one) failed: -1 > 1 is false");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* ---- daemons that carry no mark of their test (no shim, no environment) --- */

/* Runs the strays program with extra options and environment; returns the
 * report, *daemons: the pids the daemons wrote (every one asserted dead). */
static json_object *strays_run(char **opts, char **env_extra, int *daemons, int *ndaemons)
{
	static int seq;
	char name[64];
	snprintf(name, sizeof name, "strays%d.json", seq);
	char *json = path_in(scratch(), name);
	snprintf(name, sizeof name, "strays%d.pids", seq++);
	char *pidfile = path_in(scratch(), name);
	char *env[8] = {opt("MPT_SELFTEST_PIDFILE", pidfile)};
	for (int i = 0; env_extra && env_extra[i] && i < 6; i++)
		env[i + 1] = env_extra[i];
	char *argv[16] = {prog("strays"), opt("--json", json)};
	for (int i = 0; opts && opts[i] && i < 13; i++)
		argv[i + 2] = opts[i];
	struct run_result r = run_cmd(argv, env, 60);
	ck_assert_msg(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "no JSON report; stdout:\n%s\nstderr:\n%s", r.out, r.err);
	FILE *f = fopen(pidfile, "r");
	ck_assert_ptr_nonnull(f);
	*ndaemons = 0;
	while (*ndaemons < 8 && fscanf(f, "%d", &daemons[*ndaemons]) == 1)
		(*ndaemons)++;
	fclose(f);
	for (int i = 0; i < *ndaemons; i++)
		ck_assert_msg(!alive(daemons[i]), "the unmarked daemon %d survived the run: %s",
			      daemons[i], proc_stat(daemons[i]));
	run_free(&r);
	return rep;
}

/* How many leaked-process findings, over every test of the report, name pid. */
static int leaks_of(json_object *rep, int pid)
{
	json_object *tests, *fs;
	int n = 0;
	ck_assert(json_object_object_get_ex(rep, "tests", &tests));
	for (size_t i = 0; i < json_object_array_length(tests); i++) {
		json_object *t = json_object_array_get_idx(tests, i);
		if (!json_object_object_get_ex(t, "findings", &fs))
			continue;
		for (size_t k = 0; k < json_object_array_length(fs); k++) {
			json_object *f = json_object_array_get_idx(fs, k);
			n += !strcmp(json_str(f, "kind"), "leaked-process") &&
			     json_int(f, "pid") == pid;
		}
	}
	return n;
}

/* Without cgroups and -j1, a setsid daemon started past the shim (a raw
 * execve, as a static program is) or with an empty environment (the shim
 * given back by the shim's execve, or nothing when the shim is not found)
 * is the running test's: reported on it and killed. They used to pass and
 * outlive the run, reparented to pid 1. */
START_TEST(unmarked_daemons_fallback_j1)
{
	int d[8], nd;
	json_object *rep = strays_run((char *[]){"-j1", "--filter=strays/daemon_*",
						 "--filter=strays/unmarked*", NULL},
				      (char *[]){"MPT_NO_CGROUP=1", NULL}, d, &nd);
	ck_assert_int_eq(nd, 2);
	json_object *f = expect_only(json_test(rep, "strays/daemon_raw_exec"),
				     "strays/daemon_raw_exec", "leaked-process", NULL);
	ck_assert_int_eq(json_int(f, "pid"), d[0]);
	f = expect_only(json_test(rep, "strays/daemon_empty_env"), "strays/daemon_empty_env",
			"leaked-process", NULL);
	ck_assert_int_eq(json_int(f, "pid"), d[1]);
	expect_clean(json_test(rep, "strays/unmarked_program_ends"),
		     "strays/unmarked_program_ends");
	json_object_put(rep);

	/* The shim not found: the empty-environment daemon runs unwatched. */
	rep = strays_run((char *[]){"-j1", "--filter=strays/daemon_empty_env", NULL},
			 (char *[]){"MPT_NO_CGROUP=1", "MPT_PRELOAD=/nonexistent/libmptest-preload.so",
				    NULL}, d, &nd);
	ck_assert_int_eq(nd, 1);
	f = expect_only(json_test(rep, "strays/daemon_empty_env"), "strays/daemon_empty_env",
			"leaked-process", NULL);
	ck_assert_int_eq(json_int(f, "pid"), d[0]);
	json_object_put(rep);
}
END_TEST

/* With -j2 the daemon started past the shim cannot be told from the
 * bystander's: it is reported once, on the test that ends when no other
 * runs, and killed. The empty-environment one has the shim back: its own
 * test's. Under cgroup v2 both stay in their test's lane. */
START_TEST(unmarked_daemons_fallback_j2_and_cgroup)
{
	int d[8], nd;
	json_object *rep = strays_run((char *[]){"-j2", NULL},
				      (char *[]){"MPT_NO_CGROUP=1", NULL}, d, &nd);
	ck_assert_int_eq(nd, 2);
	for (int i = 0; i < nd; i++)
		ck_assert_msg(leaks_of(rep, d[i]) == 1, "daemon %d reported %d times", d[i],
			      leaks_of(rep, d[i]));
	expect_clean(json_test(rep, "strays/unmarked_program_ends"),
		     "strays/unmarked_program_ends");
	json_object_put(rep);

	rep = strays_run((char *[]){"-j2", NULL}, NULL, d, &nd);
	ck_assert_int_eq(nd, 2);
	for (int i = 0; i < nd; i++)
		ck_assert_int_eq(leaks_of(rep, d[i]), 1);
	expect_only(json_test(rep, "strays/daemon_raw_exec"), "strays/daemon_raw_exec",
		    "leaked-process", NULL);
	expect_only(json_test(rep, "strays/daemon_empty_env"), "strays/daemon_empty_env",
		    "leaked-process", NULL);
	json_object_put(rep);
}
END_TEST

START_TEST(run_level_allow)
{
	char *json = path_in(scratch(), "allow.json");
	char *argv[] = {prog("verdicts"), "--filter=verdict/leak*", "--allow=leaked-process",
			opt("--json", json), NULL};
	struct run_result r = run_cmd(argv, NULL, 30);
	ck_assert_int_eq(r.status, 0);
	json_object *rep = json_load(json);
	check_status(rep, "verdict/leaks_daemon", "pass");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* ---- the session region's record table (64 records) -------------------- */

static json_object *mpt_run_json(char **args, int nargs, int want_status,
				 struct run_result *r);

/* The first finding of a test, in report order. */
static json_object *first_finding(json_object *t)
{
	json_object *fs;
	ck_assert(t && json_object_object_get_ex(t, "findings", &fs));
	ck_assert_int_gt((int)json_object_array_length(fs), 0);
	return json_object_array_get_idx(fs, 0);
}

static int finding_count(json_object *t)
{
	json_object *fs;
	ck_assert(t && json_object_object_get_ex(t, "findings", &fs));
	return (int)json_object_array_length(fs);
}

/* Allowed findings are not recorded at all: 80 allowed zombies, or 80
 * allowed stdio duplicates before a failing assertion, used to fill the
 * region and fail the test with a made-up "assertion". Findings that do
 * not fit are said to be missing, on the first finding reported. */
START_TEST(allowed_findings_take_no_slot)
{
	char *json = path_in(scratch(), "records.json");
	char *argv[] = {prog("records"), opt("--json", json), NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	ck_assert_msg(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "no JSON report; stdout:\n%s\nstderr:\n%s", r.out, r.err);
	expect_clean(json_test(rep, "records/zombies_allowed"), "records/zombies_allowed");
	json_object *f = expect_only(json_test(rep, "records/assert_after_allowed"),
				     "records/assert_after_allowed", "assertion", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "MPT_ASSERT_EQ(answer, 42)");

	/* Not allowed: the region holds 64 of the 80 zombies; nothing else
	 * is filed, and the first finding says that 16 are missing. */
	json_object *t = json_test(rep, "records/zombies_reported");
	check_status(rep, "records/zombies_reported", "fail");
	ck_assert_int_eq(json_count_kind(t, "zombie"), 64);
	ck_assert_int_eq(finding_count(t), 64);
	const char *detail = json_str(first_finding(t), "detail");
	ASSERT_CONTAINS(detail, "Reap every child");
	ASSERT_CONTAINS(detail, "This report is incomplete: the test wrote 80 records "
			"to the session region, which holds 64, and the last 16 were dropped");
	/* The human report counts the hidden ones without claiming that the
	 * other reports have every finding. */
	ASSERT_CONTAINS(r.out, "\n  ... and 54 more zombie findings, listed in --json and --junit\n");
	ck_assert_msg(!strstr(r.out, "all of them"), "%s", r.out);
	ASSERT_CONTAINS(r.out, "1 passed, 2 failed");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* The same through mpt-run and --allow: 100 zombies or 100 stdio
 * duplicates from an unmodified program. */
START_TEST(run_level_allow_many)
{
	char *records = prog("records");
	struct run_result r;
	char *dir = (char *)scratch();
	char *json = path_in(dir, "allow-zombies.json");
	char *a1[] = {mpt_run(), "--allow=zombie", opt("--json", json), "--", records,
		      "--plain-zombies=100", NULL};
	r = run_cmd(a1, NULL, 60);
	ck_assert_msg(r.status == 0, "exit %d\n%s%s", r.status, r.out, r.err);
	json_object *rep = json_load(json);
	expect_clean(json_test(rep, "records"), "--allow=zombie");
	json_object_put(rep);
	run_free(&r);

	json = path_in(dir, "allow-stdio.json");
	char *a2[] = {mpt_run(), "--allow=stdio-duplicate", opt("--json", json), "--", records,
		      "--plain-stdio=100", NULL};
	r = run_cmd(a2, NULL, 60);
	ck_assert_msg(r.status == 0, "exit %d\n%s%s", r.status, r.out, r.err);
	rep = json_load(json);
	expect_clean(json_test(rep, "records"), "--allow=stdio-duplicate");
	json_object_put(rep);
	run_free(&r);

	/* Not allowed: 64 kept, 36 said to be missing, no "assertion". */
	rep = mpt_run_json((char *[]){records, "--plain-zombies=100"}, 2, 1, &r);
	json_object *t = json_test(rep, "records");
	ck_assert_int_eq(json_count_kind(t, "zombie"), 64);
	ck_assert_int_eq(finding_count(t), 64);
	ASSERT_CONTAINS(json_str(first_finding(t), "detail"), "the last 36 were dropped");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* ---- libmptest-preload.so for the programs a test execs ----------------- */

/* Without MPT_PRELOAD, an API test program finds the preload library beside
 * its libmptest (here the build's .libs/): the child's exec'd sleep that got
 * a pipe's write end is watched, and the leak is found. */
START_TEST(preload_found_beside_libmptest)
{
	char *json = path_in(scratch(), "preload-beside.json");
	char *argv[] = {prog("hyg_fd"), "--filter=fd/pipe_into_exec_*", opt("--json", json),
			NULL};
	char *env[] = {"MPT_PRELOAD=", NULL};
	struct run_result r = run_cmd(argv, env, 60);
	ck_assert_msg(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	json_object *rep = json_load(json);
	ck_assert_ptr_nonnull(rep);
	json_object *f = expect_only(json_test(rep, "fd/pipe_into_exec_buggy"),
				     "fd/pipe_into_exec_buggy", "fd-leak", "p0.1");
	ASSERT_CONTAINS(json_str(f, "message"), "across exec without close-on-exec and never used it");
	expect_clean(json_test(rep, "fd/pipe_into_exec_fixed"), "fd/pipe_into_exec_fixed");
	ck_assert_msg(!strstr(r.err, "libmptest-preload.so"), "%s", r.err);
	json_object_put(rep);
	run_free(&r);

	/* mpt-run finds it beside itself (the build's .libs/) the same way. */
	char *argv2[] = {mpt_run(), "--", "true", NULL};
	r = run_cmd(argv2, env, 30);
	ck_assert_msg(r.status == 0, "exit %d\n%s%s", r.status, r.out, r.err);
	run_free(&r);
}
END_TEST

/* A test program run under mpt-run is a test program like any other
 * (DESIGN §5): its own runner judges its tests — the outer session's
 * preload library used to take them for processes of the outer test, so
 * the inner report said PASS for a zombie, and a zombie the test allows
 * was reported by the outer run. Its JSON report has the inner verdicts;
 * the outer run sees the exit status. An exec'd program of an inner test
 * is still watched (fd-leak across exec). */
START_TEST(test_program_under_mpt_run)
{
	char *json = path_in(scratch(), "nested.json");
	char *argv[] = {mpt_run(), "--", prog("hyg_proc"), "--filter=proc/zombie_*",
			opt("--json", json), NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	ck_assert_msg(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	ASSERT_CONTAINS(r.out, "FAIL  proc/zombie_buggy");
	ASSERT_CONTAINS(r.out, "exit-status in p0");
	ck_assert_msg(!strstr(r.out, "zombie: p0.5") && !strstr(r.out, "zombie: p0.2"),
		      "the outer run reported the inner tests' processes:\n%s", r.out);
	json_object *rep = json_load(json);
	ck_assert_ptr_nonnull(rep);
	expect_only(json_test(rep, "proc/zombie_buggy"), "proc/zombie_buggy", "zombie", "p0.1");
	expect_clean(json_test(rep, "proc/zombie_fixed"), "proc/zombie_fixed");
	expect_clean(json_test(rep, "proc/zombie_allowed"), "proc/zombie_allowed");
	json_object_put(rep);
	run_free(&r);

	char *json2 = path_in(scratch(), "nested-fd.json");
	char *argv2[] = {mpt_run(), "--", prog("hyg_fd"), "--filter=fd/pipe_into_exec_*",
			 opt("--json", json2), NULL};
	r = run_cmd(argv2, NULL, 60);
	ck_assert_msg(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	rep = json_load(json2);
	ck_assert_ptr_nonnull(rep);
	expect_only(json_test(rep, "fd/pipe_into_exec_buggy"), "fd/pipe_into_exec_buggy",
		    "fd-leak", "p0.1");
	expect_clean(json_test(rep, "fd/pipe_into_exec_fixed"), "fd/pipe_into_exec_fixed");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* Where it cannot be found, the programs the tests exec run unwatched (the
 * buggy test passes): the run says so, once, on stderr. */
START_TEST(preload_missing_is_said_once)
{
	char *argv[] = {prog("hyg_fd"), "--filter=fd/pipe_into_exec_*", NULL};
	char *env[] = {"MPT_PRELOAD=/nonexistent/libmptest-preload.so", NULL};
	struct run_result r = run_cmd(argv, env, 60);
	ck_assert_msg(r.status == 0, "exit %d\n%s%s", r.status, r.out, r.err);
	ASSERT_CONTAINS(r.out, "2 passed, 0 failed");
	ASSERT_CONTAINS(r.err, "hyg_fd: libmptest-preload.so — not found at "
			"MPT_PRELOAD=/nonexistent/libmptest-preload.so; programs the tests "
			"exec run unwatched");
	ck_assert_int_eq(count_str(r.err, "libmptest-preload.so — not found"), 1);
	run_free(&r);

	/* Listing runs nothing: no warning. */
	char *argv2[] = {prog("hyg_fd"), "--list", NULL};
	r = run_cmd(argv2, env, 30);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(!strstr(r.err, "libmptest-preload.so"), "%s", r.err);
	run_free(&r);
}
END_TEST

/* ---- the selftests' own scratch directories ----------------------------- */

/* Each test process's scratch directory goes when it exits (a passing
 * Check test ends through exit()); one Check ended with _exit(1) (a failed
 * test) stays until its program ends, and then goes with the program's
 * root. Symbolic links inside are removed, not followed. A child here
 * plays the selftest program (with a root of its own), its children the
 * test processes. */
struct scratch_report {
	char root[256], passed[256], failed[256];
	int passed_gone_at_once, failed_kept_until_the_end;
};

static void scratch_test_process(const char *target, int fail, char *path_out)
{
	pid_t p = fork();
	if (p < 0)
		_exit(2);
	if (p == 0) {
		const char *dir = scratch();
		char *sub = path_in(dir, "valgrind-0");
		mkdir(sub, 0755);
		char *file = path_in(sub, "report.json");
		FILE *f = fopen(file, "w");
		if (!f || fputs("{}", f) < 0 || fclose(f) != 0)
			_exit(3);
		if (symlink(target, path_in(dir, "link-out")) < 0)
			_exit(4);
		/* The path goes through a shared page: the process is gone
		 * when it is looked at. */
		snprintf(path_out, 256, "%s", dir);
		if (fail)
			_exit(1);
		exit(0);
	}
	int st;
	waitpid(p, &st, 0);
}

START_TEST(scratch_directories_are_removed)
{
	char *target = path_in(scratch(), "outside");
	FILE *f = fopen(target, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	struct scratch_report *rep = mmap(NULL, sizeof *rep, PROT_READ | PROT_WRITE,
					  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(rep != MAP_FAILED);
	memset(rep, 0, sizeof *rep);
	pid_t program = fork();
	ck_assert_int_ge(program, 0);
	if (program == 0) {
		snprintf(rep->root, sizeof rep->root, "%s", scratch_root_new());
		scratch_test_process(target, 0, rep->passed);
		rep->passed_gone_at_once = rep->passed[0] && access(rep->passed, F_OK) < 0;
		scratch_test_process(target, 1, rep->failed);
		rep->failed_kept_until_the_end = rep->failed[0] &&
						 access(rep->failed, F_OK) == 0;
		exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(program, &st, 0), program);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	ck_assert_msg(!strncmp(rep->root, "/tmp/mptest-selftest-", 21), "root %s", rep->root);
	ck_assert_msg(!strncmp(rep->passed, rep->root, strlen(rep->root)), "%s", rep->passed);
	ck_assert_msg(!strncmp(rep->failed, rep->root, strlen(rep->root)), "%s", rep->failed);
	ck_assert_msg(rep->passed_gone_at_once, "%s stayed after its process exited",
		      rep->passed);
	ck_assert_msg(rep->failed_kept_until_the_end, "%s went before its program ended",
		      rep->failed);
	ck_assert_msg(access(rep->failed, F_OK) < 0, "%s stayed", rep->failed);
	ck_assert_msg(access(rep->root, F_OK) < 0, "%s stayed", rep->root);
	ck_assert_msg(access(target, F_OK) == 0, "the link's target %s was removed", target);
	munmap(rep, sizeof *rep);
}
END_TEST

/* ---- report formats ------------------------------------------------------ */

START_TEST(junit_valid_whatever_was_printed)
{
	const char *xmllint = getenv("XMLLINT");
	if (!xmllint || !*xmllint)
		xmllint = "xmllint";
	char *xml = path_in(scratch(), "report.xml");
	char *argv[] = {prog("verdicts"), opt("--junit", xml), NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	ck_assert_int_eq(r.status, 1);
	char *schema = path_in(srcdir(), "selftests/junit.xsd");
	char *lint[] = {(char *)xmllint, "--noout", "--schema", schema, xml, NULL};
	struct run_result v = run_cmd(lint, NULL, 30);
	ck_assert_msg(v.status == 0, "xmllint: %s", v.err);
	FILE *f = fopen(xml, "r");
	char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	ASSERT_CONTAINS(buf, "]]&gt;");
	ASSERT_CONTAINS(buf, "tests=\"18\" failures=\"11\" errors=\"0\" skipped=\"2\"");
	ASSERT_CONTAINS(buf, "<testcase classname=\"verdict\" name=\"child_assert\"");
	ASSERT_CONTAINS(buf, "type=\"assertion\"");
	run_free(&r);
	run_free(&v);
}
END_TEST

START_TEST(tap_plan_and_lines)
{
	char *argv[] = {prog("verdicts"), "--tap", NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strncmp(r.out, "TAP version 14\n1..18\n", 21) == 0, "%s", r.out);
	ck_assert_int_eq(count_str(r.out, "\nnot ok "), 11);
	ck_assert_int_eq(count_str(r.out, "\nok "), 7);
	ck_assert_int_eq(count_str(r.out, " # SKIP "), 2);
	ASSERT_CONTAINS(r.out, "    - kind: assertion\n      pid: ");
	ASSERT_CONTAINS(r.out, "      process: p0.1\n");
	/* The closing comment counts the skipped tests (it said "some"). */
	ASSERT_CONTAINS(r.out, "\n# 5 passed, 11 failed, 2 skipped\n");
	run_free(&r);
}
END_TEST

/* A test that could not run: JUnit's <error> carries its reason, as TAP's
 * "error:" and JSON's "reason" do (it said message="failed"). */
START_TEST(junit_error_says_why)
{
	const char *xmllint = getenv("XMLLINT");
	if (!xmllint || !*xmllint)
		xmllint = "xmllint";
	char *xml = path_in(scratch(), "error.xml");
	char *argv[] = {mpt_run(), opt("--junit", xml), "--", "/nonexistent/prog", NULL};
	struct run_result r = run_cmd(argv, NULL, 30);
	ck_assert_msg(r.status == 2, "exit %d\n%s%s", r.status, r.out, r.err);
	run_free(&r);
	char *schema = path_in(srcdir(), "selftests/junit.xsd");
	char *lint[] = {(char *)xmllint, "--noout", "--schema", schema, xml, NULL};
	struct run_result v = run_cmd(lint, NULL, 30);
	ck_assert_msg(v.status == 0, "xmllint: %s", v.err);
	run_free(&v);
	FILE *f = fopen(xml, "r");
	ck_assert_ptr_nonnull(f);
	char buf[1 << 14];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	ASSERT_CONTAINS(buf, "<error message=\"/nonexistent/prog: No such file or directory\" "
			"type=\"error\">");
	ASSERT_CONTAINS(buf, "errors=\"1\"");
}
END_TEST

/* The JSON report's seed is the run's --seed. */
START_TEST(json_seed_is_the_runs)
{
	char *json = path_in(scratch(), "seed.json");
	char *argv[] = {prog("verdicts"), "--filter=verdict/pass", "--filter=verdict/skipped",
			"--seed=137", opt("--json", json), NULL};
	struct run_result r = run_cmd(argv, NULL, 30);
	ck_assert_msg(r.status == 0, "exit %d\n%s%s", r.status, r.out, r.err);
	json_object *rep = json_load(json);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(json_int(json_test(rep, "verdict/pass"), "seed"), 137);
	ck_assert_int_eq(json_int(json_test(rep, "verdict/skipped"), "seed"), 137);
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* ---- report targets that are not files ------------------------------------
 * /dev/stdout, /dev/fd/N, a FIFO, /dev/null are written in place: the FIFO
 * stays a FIFO (it was replaced by a file), /dev/stdout gets the report
 * after the human one (the run used to end with exit 99 after every test). */
START_TEST(report_to_stdout_fifo_and_devices)
{
	char *argv[] = {prog("verdicts"), "--filter=verdict/pass", "--json=/dev/stdout", NULL};
	struct run_result r = run_cmd(argv, NULL, 30);
	ck_assert_msg(r.status == 0, "exit %d\n%s%s", r.status, r.out, r.err);
	ASSERT_CONTAINS(r.out, "1 passed, 0 failed\n{\"mptest\": 1,");
	ASSERT_CONTAINS(r.out, "\"name\": \"verdict/pass\", \"status\": \"pass\"");
	run_free(&r);

	char *argv2[] = {mpt_run(), "--junit=/dev/fd/1", "--json=/dev/null", "--", "true", NULL};
	r = run_cmd(argv2, NULL, 30);
	ck_assert_msg(r.status == 0, "exit %d\n%s%s", r.status, r.out, r.err);
	ASSERT_CONTAINS(r.out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>");
	run_free(&r);

	char *fifo = path_in(scratch(), "report.fifo"), *got = path_in(scratch(), "fifo.json");
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	pid_t reader = fork();
	ck_assert_int_ge(reader, 0);
	if (reader == 0) {
		int in = open(fifo, O_RDONLY), out = open(got, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		char buf[4096];
		ssize_t k;
		while (in >= 0 && out >= 0 && (k = read(in, buf, sizeof buf)) > 0)
			if (write(out, buf, (size_t)k) != k)
				_exit(1);
		_exit(in >= 0 && out >= 0 ? 0 : 1);
	}
	char *argv3[] = {prog("verdicts"), "--filter=verdict/pass", opt("--json", fifo), NULL};
	r = run_cmd(argv3, NULL, 30);
	ck_assert_msg(r.status == 0, "exit %d\n%s%s", r.status, r.out, r.err);
	run_free(&r);
	int st;
	ck_assert_int_eq(waitpid(reader, &st, 0), reader);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct stat sb;
	ck_assert_int_eq(lstat(fifo, &sb), 0);
	ck_assert_msg(S_ISFIFO(sb.st_mode), "the FIFO was replaced");
	json_object *rep = json_load(got);
	ck_assert_msg(rep != NULL, "the FIFO's reader got no JSON report");
	check_status(rep, "verdict/pass", "pass");
	json_object_put(rep);

	/* A descriptor that is not open for writing is refused before any
	 * test runs. */
	char *v = prog("verdicts");
	bad_usage((char *[]){v, "--json=/dev/fd/47", NULL}, NULL, "--json=/dev/fd/47",
		  "descriptor 47 is not open");
	bad_usage((char *[]){v, "--junit=/dev/fd/0", NULL}, NULL, "--junit=/dev/fd/0",
		  "descriptor 0 is open for reading only");
}
END_TEST

/* Write errors on stdout fail the run: a report that was lost is no pass
 * (these exited 0). */
static void stdout_fails(const char *how, const char *redirect, int want, const char *says)
{
	char *cmd;
	if (asprintf(&cmd, "exec %s %s", how, redirect) < 0)
		abort();
	char *argv[] = {"sh", "-c", cmd, NULL};
	struct run_result r = run_cmd(argv, NULL, 30);
	ck_assert_msg(r.status == want, "%s: exit %d\n%s", cmd, r.status, r.err);
	ck_assert_int_eq(lines(r.err), 1);
	ASSERT_CONTAINS(r.err, says);
	run_free(&r);
	free(cmd);
}

START_TEST(stdout_write_errors_fail_the_run)
{
	char *v, *m = mpt_run();
	if (asprintf(&v, "'%s'", prog("verdicts")) < 0)
		abort();
	char *tap, *list, *run, *mrun;
	if (asprintf(&tap, "%s --filter=verdict/pass --tap", v) < 0 ||
	    asprintf(&list, "%s --list", v) < 0 ||
	    asprintf(&run, "%s --filter=verdict/pass", v) < 0 ||
	    asprintf(&mrun, "'%s' -- true", m) < 0)
		abort();
	stdout_fails(tap, ">/dev/full", 99,
		     "verdicts: cannot write the TAP report to standard output: No space left");
	stdout_fails(list, ">/dev/full", 99,
		     "verdicts: --list — cannot write to standard output: No space left");
	stdout_fails(list, ">&-", 99, "cannot write to standard output: Bad file descriptor");
	stdout_fails(run, ">&-", 99, "cannot write the test report to standard output: Bad "
		     "file descriptor");
	stdout_fails(mrun, ">/dev/full", 3, "mpt-run: cannot write the test report to standard "
		     "output");
}
END_TEST

/* Automake's own tap-driver.sh accepts the stream (with --ignore-exit, since
 * a run with failures exits 1, which the driver would count once more). */
START_TEST(tap_driver_accepts)
{
	char *driver = path_in(srcdir(), "build-aux/tap-driver.sh");
	char *log = path_in(scratch(), "tap.log"), *trs = path_in(scratch(), "tap.trs");
	char *cmd;
	if (asprintf(&cmd, "AM_TAP_AWK=awk sh '%s' --test-name verdicts --log-file '%s' "
		     "--trs-file '%s' --color-tests no --enable-hard-errors yes "
		     "--expect-failure no --ignore-exit -- '%s' --tap", driver, log, trs,
		     prog("verdicts")) < 0)
		abort();
	char *argv[] = {"sh", "-c", cmd, NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	ASSERT_CONTAINS(r.out, "PASS: verdicts 1 - verdict/pass");
	ASSERT_CONTAINS(r.out, "FAIL: verdicts 6 - verdict/child_assert");
	ASSERT_CONTAINS(r.out, "SKIP: verdicts 13 - verdict/skipped");
	ck_assert_int_eq(count_str(r.out, "ERROR:"), 0);
	run_free(&r);
}
END_TEST

/* ---- selection: list, filter, shards, repeat ----------------------------- */

static int lines(const char *s)
{
	return count_str(s, "\n");
}

START_TEST(list_and_filter)
{
	char *all[] = {prog("verdicts"), "--list", NULL};
	struct run_result r = run_cmd(all, NULL, 10);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(lines(r.out), 18);
	ck_assert_msg(strncmp(r.out, "verdict/pass\nverdict/assert_eq_fails\n", 37) == 0,
		      "definition order expected:\n%s", r.out);
	char *some[] = {prog("verdicts"), "--list", "--filter=verdict/wait_*", NULL};
	struct run_result s = run_cmd(some, NULL, 10);
	ck_assert_str_eq(s.out, "verdict/wait_exited_ok\nverdict/wait_exited_wrong\n"
				"verdict/wait_signaled_ok\n");
	run_free(&r);
	run_free(&s);
}
END_TEST

/* A filter that matches nothing is a mistake (exit 2, as a bad option);
 * an empty list, or an empty shard, is not. */
START_TEST(filter_matching_nothing)
{
	char *v = prog("verdicts");
	bad_usage((char *[]){v, "--filter=", NULL}, NULL, "--filter=", "empty pattern");
	bad_usage((char *[]){v, "--filter=verdcit/*", "--filter=x", NULL}, NULL,
		  "--filter=verdcit/* --filter=x", "no test matches");
	char *list[] = {v, "--list", "--filter=nope", NULL};
	struct run_result r = run_cmd(list, NULL, 10);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "");
	run_free(&r);
	char *env[] = {"TEST_TOTAL_SHARDS=30", "TEST_SHARD_INDEX=29", NULL};
	char *argv[] = {v, NULL};
	r = run_cmd(argv, env, 10);
	ck_assert_msg(r.status == 0, "exit %d\n%s%s", r.status, r.out, r.err);
	ASSERT_CONTAINS(r.out, "0 passed, 0 failed");
	run_free(&r);
}
END_TEST

START_TEST(shards_partition_the_tests)
{
	char *listing[3];
	int total = 0;
	for (int k = 1; k <= 3; k++) {
		char shard[32];
		snprintf(shard, sizeof shard, "--shard=%d/3", k);
		char *argv[] = {prog("verdicts"), "--list", shard, NULL};
		struct run_result r = run_cmd(argv, NULL, 10);
		ck_assert_int_eq(r.status, 0);
		total += lines(r.out);
		listing[k - 1] = r.out;
	}
	ck_assert_int_eq(total, 18);
	/* Disjoint: no name of shard 1 is in shard 2 or 3. */
	for (char *name = strtok(strdup(listing[0]), "\n"); name; name = strtok(NULL, "\n")) {
		char line[256];
		snprintf(line, sizeof line, "%s\n", name);
		ck_assert_ptr_null(strstr(listing[1], line));
		ck_assert_ptr_null(strstr(listing[2], line));
	}
	/* Bazel's variables pick the same shard, 0-based, and touch the file. */
	char *status = path_in(scratch(), "shard-status");
	char *env[] = {"TEST_TOTAL_SHARDS=3", "TEST_SHARD_INDEX=1",
		       opt("TEST_SHARD_STATUS_FILE", status), NULL};
	char *argv[] = {prog("verdicts"), "--list", NULL};
	struct run_result b = run_cmd(argv, env, 10);
	ck_assert_str_eq(b.out, listing[1]);
	ck_assert_int_eq(access(status, F_OK), 0);
	run_free(&b);

	/* One variable without the other is a mistake (it ran shard 0). */
	bad_usage(argv, (char *[]){"TEST_TOTAL_SHARDS=3", NULL}, "TEST_SHARD_INDEX",
		  "missing while TEST_TOTAL_SHARDS is set");
	/* A status file that cannot be made is said (Bazel would fail the
	 * test for not sharding, with no reason). */
	char *env2[] = {"TEST_TOTAL_SHARDS=3", "TEST_SHARD_INDEX=1",
			"TEST_SHARD_STATUS_FILE=/nonexistent/dir/status", NULL};
	b = run_cmd(argv, env2, 10);
	ck_assert_int_eq(b.status, 0);
	ck_assert_str_eq(b.out, listing[1]);
	ck_assert_int_eq(lines(b.err), 1);
	ASSERT_CONTAINS(b.err, "TEST_SHARD_STATUS_FILE=/nonexistent/dir/status — cannot create "
			"it: No such file or directory");
	run_free(&b);
}
END_TEST

START_TEST(repeat_runs_each_test_n_times)
{
	char *json = path_in(scratch(), "repeat.json");
	char *argv[] = {prog("verdicts"), "--filter=verdict/pass", "--repeat=3",
			opt("--json", json), NULL};
	struct run_result r = run_cmd(argv, NULL, 30);
	ck_assert_int_eq(r.status, 0);
	json_object *rep = json_load(json), *tests;
	ck_assert(json_object_object_get_ex(rep, "tests", &tests));
	ck_assert_int_eq(json_object_array_length(tests), 3);
	ASSERT_CONTAINS(r.out, "3 passed, 0 failed");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* ---- -j: the two sleepy tests can only pass when they overlap ------------- */

START_TEST(jobs_run_tests_at_once)
{
	char *dir = path_in(scratch(), "meet-j2");
	mkdir(dir, 0755);
	char *env[] = {opt("MPT_SELFTEST_DIR", dir), NULL};
	char *argv[] = {prog("sleepy"), "-j", "2", NULL};
	struct run_result r = run_cmd(argv, env, 30);
	ck_assert_msg(r.status == 0, "%s", r.out);
	ASSERT_CONTAINS(r.out, "2 passed, 0 failed");
	run_free(&r);

	/* One at a time, each waits for the other in vain: both time out. */
	char *dir1 = path_in(scratch(), "meet-j1");
	mkdir(dir1, 0755);
	char *env1[] = {opt("MPT_SELFTEST_DIR", dir1), "MPT_TIMEOUT_MULTIPLIER=0.2", NULL};
	char *argv1[] = {prog("sleepy"), "-j1", NULL};
	struct run_result s = run_cmd(argv1, env1, 30);
	ck_assert_int_eq(s.status, 1);
	ck_assert_int_eq(count_str(s.out, "timeout in p0"), 2);
	run_free(&s);
}
END_TEST

START_TEST(timeout_multiplier_scales)
{
	char *json = path_in(scratch(), "mult.json");
	char *env[] = {"MPT_TIMEOUT_MULTIPLIER=2", NULL};
	char *argv[] = {prog("verdicts"), "--filter=verdict/timeout", opt("--json", json), NULL};
	struct run_result r = run_cmd(argv, env, 30);
	ck_assert_int_eq(r.status, 1);
	json_object *rep = json_load(json);
	json_object *t = json_test(rep, "verdict/timeout");
	ASSERT_CONTAINS(json_str(json_finding(t, "timeout"), "message"), "0.6 s");
	json_object *d;
	ck_assert(json_object_object_get_ex(t, "duration_ms", &d));
	ck_assert_double_ge(json_object_get_double(d), 590.0);
	json_object_put(rep);
	run_free(&r);
}
END_TEST

START_TEST(own_main_calls_mpt_main)
{
	char *argv[] = {prog("ownmain"), NULL};
	struct run_result r = run_cmd(argv, NULL, 10);
	ck_assert_int_eq(r.status, 0);
	ASSERT_CONTAINS(r.out, "PASS  ownmain/sees_setup");
	run_free(&r);
}
END_TEST

static int under_valgrind(void);

/* 100 MB of output: the run finishes and keeps only a bounded tail, in
 * bounded memory, and the quiet test beside it passes. */
START_TEST(huge_output_bounded_tail)
{
	char *json = path_in(scratch(), "noisy.json");
	char *argv[] = {prog("noisy"), opt("--json", json), NULL};
	struct run_result r = run_cmd(argv, NULL, 120);
	ck_assert_int_eq(r.status, 1);
	json_object *rep = json_load(json);
	json_object *t = json_test(rep, "noisy/hundred_mb_then_fail");
	const char *out = json_str(t, "output");
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_le(strlen(out), 2 * 65536);
	ASSERT_CONTAINS(out, "the last line\n");
	ASSERT_CONTAINS(r.out, "earlier bytes dropped");
	check_status(rep, "noisy/quiet_pass", "pass");
	/* The biggest of the runner and its test processes (2 MB here):
	 * nowhere near the 100 MB that went through. */
	struct rusage ru;
	ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
#ifndef __SANITIZE_ADDRESS__
	if (!under_valgrind())
		ck_assert_msg(ru.ru_maxrss < 32 * 1024,
			      "a process of the run grew to %ld KB", ru.ru_maxrss);
#endif
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* ---- bad usage: one line, exit 2 ------------------------------------------ */

static void bad_usage(char *const argv[], char *const env[], const char *token,
		      const char *expected)
{
	struct run_result r = run_cmd(argv, env, 10);
	ck_assert_msg(r.status == 2, "%s: exit %d, stderr %s", token, r.status, r.err);
	ck_assert_int_eq(lines(r.err), 1);
	ASSERT_CONTAINS(r.err, token);
	ASSERT_CONTAINS(r.err, expected);
	ck_assert_str_eq(r.out, "");
	run_free(&r);
}

START_TEST(bad_usage_exits_2)
{
	char *v = prog("verdicts"), *m = mpt_run();
	bad_usage((char *[]){v, "--timeout=abc", NULL}, NULL, "--timeout=abc", "duration");
	bad_usage((char *[]){v, "--timeout=-3s", NULL}, NULL, "--timeout=-3s", "duration");
	bad_usage((char *[]){v, "--allow=zombies", NULL}, NULL, "--allow=zombies",
		  "unknown finding kind");
	bad_usage((char *[]){v, "--shard=4/3", NULL}, NULL, "--shard=4/3", "K/N");
	bad_usage((char *[]){v, "-j", "0", NULL}, NULL, "-j 0", "job count");
	bad_usage((char *[]){v, "-j", "abc", NULL}, NULL, "-j abc — not a job count",
		  "from 1 to 1024");
	bad_usage((char *[]){v, "--timeout=1ns", NULL}, NULL, "--timeout=1ns", "at least 1ms");
	bad_usage((char *[]){v, NULL}, (char *[]){"MPT_TIMEOUT_MULTIPLIER=1e9", NULL},
		  "MPT_TIMEOUT_MULTIPLIER=1e9", "at most 1000000");
	bad_usage((char *[]){v, "--repeat=x", NULL}, NULL, "--repeat=x", "repeat count");
	bad_usage((char *[]){v, "--frobnicate", NULL}, NULL, "--frobnicate", "unknown option");
	bad_usage((char *[]){v, "stray", NULL}, NULL, "stray", "unexpected argument");
	bad_usage((char *[]){v, NULL}, (char *[]){"MPT_TIMEOUT_MULTIPLIER=fast", NULL},
		  "MPT_TIMEOUT_MULTIPLIER", "positive number");
	bad_usage((char *[]){m, NULL}, NULL, "PROGRAM", "mpt-run [OPTIONS] -- PROGRAM");
	bad_usage((char *[]){m, "--json", "--", "true", NULL}, NULL, "--json", "--option=VALUE");
	bad_usage((char *[]){m, "--inject=read:error=EBOGUS", "--", "true", NULL}, NULL,
		  "--inject=read:error=EBOGUS", "unknown errno \"EBOGUS\"");
	bad_usage((char *[]){m, "--explore=3", "--", "true", NULL}, NULL,
		  "--explore", "not available yet");
}
END_TEST

/* ---- mpt-run ------------------------------------------------------------- */

static json_object *mpt_run_json(char **args, int nargs, int want_status, struct run_result *r)
{
	static int seq;
	char name[32];
	snprintf(name, sizeof name, "run%d.json", seq++);
	char *json = path_in(scratch(), name);
	char **argv = calloc((size_t)nargs + 4, sizeof *argv);
	argv[0] = mpt_run();
	argv[1] = opt("--json", json);
	argv[2] = "--";
	for (int i = 0; i < nargs; i++)
		argv[3 + i] = args[i];
	*r = run_cmd(argv, NULL, 30);
	ck_assert_msg(r->status == want_status, "exit %d, wanted %d\n%s%s", r->status,
		      want_status, r->out, r->err);
	json_object *rep = json_load(json);
	ck_assert_ptr_nonnull(rep);
	return rep;
}

START_TEST(mpt_run_verdicts)
{
	struct run_result r;
	json_object *rep = mpt_run_json((char *[]){"true"}, 1, 0, &r);
	check_status(rep, "true", "pass");
	ASSERT_CONTAINS(r.out, "1 passed, 0 failed");

	rep = mpt_run_json((char *[]){"false"}, 1, 1, &r);
	ASSERT_CONTAINS(json_str(only_finding(rep, "false", "exit-status", "p0"), "message"),
			"status 1");

	rep = mpt_run_json((char *[]){"sh", "-c", "kill -SEGV $$"}, 3, 1, &r);
	ASSERT_CONTAINS(json_str(only_finding(rep, "sh", "crash", "p0"), "message"), "SIGSEGV");

	rep = mpt_run_json((char *[]){"/nonexistent/program"}, 1, 2, &r);
	check_status(rep, "program", "error");
	ASSERT_CONTAINS(json_str(json_test(rep, "program"), "reason"), "No such file");
}
END_TEST

START_TEST(mpt_run_timeout_and_leak)
{
	char *json = path_in(scratch(), "run-timeout.json");
	char *argv[] = {mpt_run(), "--timeout=200ms", opt("--json", json), "--", "sleep", "30", NULL};
	struct run_result r = run_cmd(argv, NULL, 10);
	ck_assert_int_eq(r.status, 1);
	json_object *rep = json_load(json);
	only_finding(rep, "sleep", "timeout", "p0");
	ck_assert_double_lt(r.seconds, 5.0);
	run_free(&r);

	char *pidfile = path_in(scratch(), "run-daemon.pid");
	char *script;
	if (asprintf(&script, "setsid sleep 300 & echo $! > '%s'", pidfile) < 0)
		abort();
	struct run_result s;
	rep = mpt_run_json((char *[]){"sh", "-c", script}, 3, 1, &s);
	json_object *f = only_finding(rep, "sh", "leaked-process", NULL);
	int daemon = read_int_file(pidfile);
	ck_assert_int_eq(json_int(f, "pid"), daemon);
	ck_assert(!alive(daemon));
}
END_TEST

/* SIGTERM to the runner: running tests are killed, reports still written. */
START_TEST(interrupted_runner_kills_and_reports)
{
	char *json = path_in(scratch(), "interrupted.json");
	char *pidfile = path_in(scratch(), "int.pid");
	char *script;
	if (asprintf(&script, "echo $$ > '%s'; sleep 300", pidfile) < 0)
		abort();
	pid_t p = fork();
	if (p == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		execl(mpt_run(), "mpt-run", opt("--json", json), "--", "sh", "-c", script, (char *)NULL);
		_exit(126);
	}
	for (int i = 0; i < 500 && read_int_file(pidfile) <= 0; i++)
		usleep(10000);
	int child = read_int_file(pidfile);
	ck_assert_int_gt(child, 1);
	kill(p, SIGTERM);
	int st;
	waitpid(p, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	ck_assert(!alive(child));
	json_object *rep = json_load(json);
	check_status(rep, "sh", "error");
	ASSERT_CONTAINS(json_str(json_test(rep, "sh"), "reason"), "SIGTERM");
}
END_TEST

/* The same with TAP and JUnit, two tests and -j1: the second never runs.
 * TAP bails out (its plan cannot be met), JUnit says why each one is an
 * error. */
START_TEST(interrupted_tap_bails_out)
{
	char *dir = path_in(scratch(), "meet-int");
	mkdir(dir, 0755);
	char *out = path_in(scratch(), "int.tap"), *xml = path_in(scratch(), "int.xml");
	char *marker = path_in(dir, "a");
	pid_t p = fork();
	if (p == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		setenv("MPT_SELFTEST_DIR", dir, 1);
		execl(prog("sleepy"), "sleepy", "-j1", "--tap", opt("--junit", xml), (char *)NULL);
		_exit(126);
	}
	for (int i = 0; i < 1000 && access(marker, F_OK) != 0; i++)
		usleep(10000);
	ck_assert_int_eq(access(marker, F_OK), 0);
	kill(p, SIGTERM);
	int st;
	waitpid(p, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	FILE *f = fopen(out, "r");
	char buf[1 << 14];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	ASSERT_CONTAINS(buf, "TAP version 14\n1..2\nnot ok 1 - sleepy/a\n");
	ASSERT_CONTAINS(buf, "  error: \"interrupted by SIGTERM; the tree was killed\"\n");
	ASSERT_CONTAINS(buf, "\nBail out! interrupted by SIGTERM; 1 of 2 tests not run\n");
	f = fopen(xml, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	ASSERT_CONTAINS(buf, "<error message=\"interrupted by SIGTERM; the tree was killed\"");
	ASSERT_CONTAINS(buf, "<error message=\"not run: interrupted by SIGTERM\"");
}
END_TEST

/* ---- hostile tests: verdicts arrive, nothing survives -------------------- */

static void hostile_run(const char *no_cgroup)
{
	char *json = path_in(scratch(), no_cgroup ? "hostile-fb.json" : "hostile.json");
	char *env[] = {no_cgroup ? (char *)no_cgroup : "MPT_SELFTEST_X=1", NULL};
	char *argv[] = {prog("hostile"), opt("--json", json), NULL};
	struct run_result r = run_cmd(argv, env, 60);
	ck_assert_int_eq(r.status, 1);
	json_object *rep = json_load(json);
	ck_assert_ptr_nonnull(rep);
	ASSERT_CONTAINS(json_str(only_finding(rep, "hostile/kill_own_group", "crash", "p0"),
				 "message"), "SIGKILL");
	ck_assert_int_eq(json_count_kind(json_test(rep, "hostile/kill_own_group"),
					 "leaked-process"), 0);
	ASSERT_CONTAINS(json_str(only_finding(rep, "hostile/close_all_then_fail", "assertion", "p0"),
				 "message"), "MPT_ASSERT_EQ(1, 0)");
	only_finding(rep, "hostile/stops_itself", "timeout", "p0");
	ck_assert_int_eq(json_count_kind(json_test(rep, "hostile/ignores_sigterm_and_leaks"),
					 "leaked-process"), 2);
	json_object *t = json_test(rep, "hostile/two_hundred_children"), *fs;
	ck_assert_int_eq(json_count_kind(t, "leaked-process"), 200);
	ck_assert(json_object_object_get_ex(t, "findings", &fs));
	for (size_t i = 0; i < json_object_array_length(fs); i++) {
		int pid = (int)json_int(json_object_array_get_idx(fs, i), "pid");
		ck_assert_msg(!alive(pid), "leaked child %d survived: %s", pid, proc_stat(pid));
	}
	/* The human report folds them: ten shown, the rest counted. */
	ASSERT_CONTAINS(r.out, "... and 190 more leaked-process findings");
	ASSERT_CONTAINS(r.out, "0 passed, 5 failed");
	json_object_put(rep);
	run_free(&r);
}

START_TEST(hostile_tests_cgroup) { hostile_run(NULL); }
END_TEST
START_TEST(hostile_tests_subreaper) { hostile_run("MPT_NO_CGROUP=1"); }
END_TEST

/* ---- resource limits: --max-procs, --max-memory ----------------------------
 * This machine's cgroup v2 has no pids or memory controller to delegate, so
 * these exercise the shim's fork hook, RLIMIT_AS and the runner's own count;
 * the pids.max / memory.max path is not exercised here. */

static int under_valgrind(void)
{
	const char *vg = getenv("MPT_SELFTEST_VALGRIND");
	return vg && *vg && *vg != '0';
}

/* Why --max-memory cannot be tested in this build, or NULL. */
static const char *no_memory_limit_here(void)
{
#ifdef __SANITIZE_ADDRESS__
	return "an AddressSanitizer build: its shadow memory does not fit under RLIMIT_AS, "
	       "and the allocator wrappers step aside for the sanitizer";
#else
	if (under_valgrind())
		return "under Valgrind: memcheck's own reservations do not fit under RLIMIT_AS, "
		       "and it replaces the allocator wrappers";
	return NULL;
#endif
}

/* Whether pid is still a process of the limits programs (pids are reused
 * quickly here, so a pid alone proves nothing). */
static int survivor(int pid)
{
	char path[64], comm[64] = "";
	snprintf(path, sizeof path, "/proc/%d/comm", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(comm, sizeof comm, f))
		comm[0] = 0;
	fclose(f);
	return alive(pid) && strncmp(comm, "limits", 6) == 0;
}

/* Asserts that none of the pids listed in file survived; returns how many
 * there were. */
static int none_survive(const char *file)
{
	FILE *f = fopen(file, "r");
	int n = 0, pid;
	if (!f)
		return 0;
	while (fscanf(f, "%d", &pid) == 1) {
		n++;
		ck_assert_msg(!survivor(pid), "child %d survived its test: %s", pid,
			      proc_stat(pid));
	}
	fclose(f);
	return n;
}

/* The limits programs under --max-procs=50 (and --max-memory=64M where it
 * can hold): the bounded fork bomb is stopped at 50 with exactly one
 * resource-limit finding and no survivor; 300 children forked and reaped
 * (or reaped by the kernel) pass, so the limit counts live processes. */
static void max_procs_small(const char *containment)
{
	const char *skip = no_memory_limit_here();
	char *json = path_in(scratch(), containment ? "limits-fb.json" : "limits.json");
	char *pids = path_in(scratch(), containment ? "limits-fb.pids" : "limits.pids");
	char *env[] = {opt("MPT_SELFTEST_PIDFILE", pids),
		       containment ? (char *)containment : "MPT_SELFTEST_X=1", NULL};
	char *argv[] = {prog("limits"), "--max-procs=50", opt("--json", json),
			skip ? "--filter=limits/*fork*" : "--max-memory=64M",
			skip ? "--filter=limits/ignored*" : NULL, NULL};
	if (skip)
		printf("SKIP: --max-memory in the limits selftest — %s\n", skip);
	struct run_result r = run_cmd(argv, env, 120);
	ck_assert_msg(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	json_object *rep = json_load(json);
	ck_assert_ptr_nonnull(rep);
	json_object *f = expect_only(json_test(rep, "limits/fork_2000_sleepers"),
				     "fork_2000_sleepers", "resource-limit", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "fork() refused: the test reached "
			"--max-procs=50 live processes (p0 forked 49 children)");
	ASSERT_CONTAINS(json_str(f, "detail"),
			"Called from mpt__fn_limits__fork_2000_sleepers (limits.c:");
	ck_assert_int_eq(none_survive(pids), 49);
	expect_clean(json_test(rep, "limits/fork_and_reap_300"), "fork_and_reap_300");
	expect_clean(json_test(rep, "limits/ignored_sigchld_300"), "ignored_sigchld_300");
	if (!skip) {
		f = expect_only(json_test(rep, "limits/malloc_until_null"), "malloc_until_null",
				"resource-limit", "p0");
		ASSERT_CONTAINS(json_str(f, "message"),
				"malloc(1048576) failed: the process reached --max-memory=64M");
		/* Symbolized in the headroom the hard limit leaves. */
		ASSERT_CONTAINS(json_str(f, "detail"),
				"Called from mpt__fn_limits__malloc_until_null (limits.c:");
		expect_clean(json_test(rep, "limits/malloc_10mb"), "malloc_10mb");
		f = expect_only(json_test(rep, "limits/mmap_until_failed"), "mmap_until_failed",
				"resource-limit", "p0");
		ASSERT_CONTAINS(json_str(f, "message"),
				"mmap(1048576) failed: the process reached --max-memory=64M");
		ASSERT_CONTAINS(r.out, "3 passed, 3 failed");
	} else {
		ASSERT_CONTAINS(r.out, "2 passed, 1 failed");
	}
	json_object_put(rep);
	run_free(&r);
}

START_TEST(max_procs_cgroup) { max_procs_small(NULL); }
END_TEST
START_TEST(max_procs_subreaper) { max_procs_small("MPT_NO_CGROUP=1"); }
END_TEST

/* Without --max-procs the default (1024) stops the 2000 children too,
 * beside tests it must not disturb (-j2). */
START_TEST(max_procs_default_stops_2000)
{
	if (under_valgrind()) {
		printf("SKIP: the default --max-procs selftest — under Valgrind it would "
		       "start 1024 memcheck processes\n");
		return;
	}
	char *json = path_in(scratch(), "limits-default.json");
	char *pids = path_in(scratch(), "limits-default.pids");
	char *env[] = {opt("MPT_SELFTEST_PIDFILE", pids), NULL};
	char *argv[] = {prog("limits"), "-j2", opt("--json", json), "--filter=limits/*fork*",
			"--filter=limits/ignored*", NULL};
	struct run_result r = run_cmd(argv, env, 120);
	ck_assert_msg(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	json_object *rep = json_load(json);
	ck_assert_ptr_nonnull(rep);
	json_object *f = expect_only(json_test(rep, "limits/fork_2000_sleepers"),
				     "fork_2000_sleepers", "resource-limit", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "--max-procs=1024 live processes "
			"(p0 forked 1023 children)");
	ck_assert_int_eq(none_survive(pids), 1023);
	expect_clean(json_test(rep, "limits/fork_and_reap_300"), "fork_and_reap_300");
	expect_clean(json_test(rep, "limits/ignored_sigchld_300"), "ignored_sigchld_300");
	ASSERT_CONTAINS(r.out, "2 passed, 1 failed");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* The same limits on plain programs under mpt-run: the shim preloaded into
 * them refuses the fork; children started by the raw system call, past the
 * shim, are counted and ended by the runner. */
static json_object *limits_under_mpt_run(const char *limit, const char *c, const char *pids,
					 int want_status)
{
	static int seq;
	char name[32];
	snprintf(name, sizeof name, "limits-run%d.json", seq++);
	char *json = path_in(scratch(), name);
	char *argv[] = {mpt_run(), (char *)limit, "--timeout=60s", opt("--json", json), "--",
			path_in(builddir(), "selftests/plain/limits"), (char *)c,
			(char *)pids, NULL};
	struct run_result r = run_cmd(argv, NULL, 120);
	ck_assert_msg(r.status == want_status, "%s: exit %d\n%s%s", c, r.status, r.out, r.err);
	json_object *rep = json_load(json);
	ck_assert_ptr_nonnull(rep);
	run_free(&r);
	return json_test(rep, "limits");
}

START_TEST(max_procs_mpt_run)
{
	char *pids = path_in(scratch(), "run-forks.pids");
	json_object *f = expect_only(limits_under_mpt_run("--max-procs=50", "forks", pids, 1),
				     "forks", "resource-limit", "p0");
	/* The program's failure exit follows from the refusal: not a
	 * finding of its own. */
	ASSERT_CONTAINS(json_str(f, "message"), "fork() refused: the test reached "
			"--max-procs=50 live processes (p0 forked 49 children)");
	ck_assert_int_eq(none_survive(pids), 49);

	char *raw = path_in(scratch(), "run-raw.pids");
	f = expect_only(limits_under_mpt_run("--max-procs=50", "forks-raw", raw, 1),
			"forks-raw", "resource-limit", "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "past --max-procs=50 (and the runner's "
			"margin of 22)");
	ck_assert_int_gt(none_survive(raw), 72);

	expect_clean(limits_under_mpt_run("--max-procs=50", "reap", NULL, 0), "reap");
}
END_TEST

START_TEST(max_memory_mpt_run)
{
	const char *skip = no_memory_limit_here();
	if (skip) {
		printf("SKIP: --max-memory under mpt-run — %s\n", skip);
		return;
	}
	json_object *f = expect_only(limits_under_mpt_run("--max-memory=64M", "memory", NULL, 1),
				     "memory", "resource-limit", "p0");
	ASSERT_CONTAINS(json_str(f, "message"),
			"malloc(1048576) failed: the process reached --max-memory=64M");
	expect_clean(limits_under_mpt_run("--max-memory=64M", "memory-10mb", NULL, 0),
		     "memory-10mb");
}
END_TEST

/* --allow=resource-limit: the limit still refuses the 50th process, but
 * the test is neither failed for it nor ended; its 49 sleeping children
 * are then leaks like any others. */
START_TEST(max_procs_allowed)
{
	char *json = path_in(scratch(), "limits-allowed.json");
	char *argv[] = {prog("limits"), "--max-procs=50", "--allow=resource-limit",
			opt("--json", json), "--filter=limits/fork_2000*", NULL};
	struct run_result r = run_cmd(argv, NULL, 120);
	ck_assert_msg(r.status == 1, "exit %d\n%s%s", r.status, r.out, r.err);
	json_object *rep = json_load(json);
	ck_assert_ptr_nonnull(rep);
	json_object *t = json_test(rep, "limits/fork_2000_sleepers"), *fs;
	ck_assert_int_eq(json_count_kind(t, "resource-limit"), 0);
	ck_assert_int_eq(json_count_kind(t, "leaked-process"), 49);
	ck_assert(json_object_object_get_ex(t, "findings", &fs));
	for (size_t i = 0; i < json_object_array_length(fs); i++) {
		int pid = (int)json_int(json_object_array_get_idx(fs, i), "pid");
		ck_assert_msg(!survivor(pid), "leaked child %d survived: %s", pid, proc_stat(pid));
	}
	json_object_put(rep);
	run_free(&r);
}
END_TEST

START_TEST(limits_bad_values_exit_2)
{
	char *v = prog("limits"), *m = mpt_run();
	const char *bad[][2] = {
		{"--max-procs=-1", "not a process count"},
		{"--max-procs=lots", "not a process count"},
		{"--max-procs=100001", "from 1 to 100000"},
		{"--max-memory=12Q", "not a memory size"},
		{"--max-memory=100", "at least 1M"},
		{"--max-memory=", "K, M or G"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		bad_usage((char *[]){v, (char *)bad[i][0], NULL}, NULL, bad[i][0], bad[i][1]);
		bad_usage((char *[]){m, (char *)bad[i][0], "--", "true", NULL}, NULL, bad[i][0],
			  bad[i][1]);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("runner");
	TCase *t = tcase_create("runner");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, verdicts_every_kind);
	tcase_add_test(t, verdicts_fallback_containment);
	tcase_add_test(t, header_compiles_pedantic);
	tcase_add_test(t, mixed_sign_assertions_compare_numbers);
	tcase_add_test(t, unmarked_daemons_fallback_j1);
	tcase_add_test(t, unmarked_daemons_fallback_j2_and_cgroup);
	tcase_add_test(t, run_level_allow);
	tcase_add_test(t, allowed_findings_take_no_slot);
	tcase_add_test(t, run_level_allow_many);
	tcase_add_test(t, preload_found_beside_libmptest);
	tcase_add_test(t, test_program_under_mpt_run);
	tcase_add_test(t, preload_missing_is_said_once);
	tcase_add_test(t, scratch_directories_are_removed);
	tcase_add_test(t, fallback_parallel_tests_stay_apart);
	tcase_add_test(t, junit_valid_whatever_was_printed);
	tcase_add_test(t, tap_plan_and_lines);
	tcase_add_test(t, tap_driver_accepts);
	tcase_add_test(t, junit_error_says_why);
	tcase_add_test(t, json_seed_is_the_runs);
	tcase_add_test(t, report_to_stdout_fifo_and_devices);
	tcase_add_test(t, stdout_write_errors_fail_the_run);
	tcase_add_test(t, filter_matching_nothing);
	tcase_add_test(t, list_and_filter);
	tcase_add_test(t, shards_partition_the_tests);
	tcase_add_test(t, repeat_runs_each_test_n_times);
	tcase_add_test(t, jobs_run_tests_at_once);
	tcase_add_test(t, timeout_multiplier_scales);
	tcase_add_test(t, own_main_calls_mpt_main);
	tcase_add_test(t, huge_output_bounded_tail);
	tcase_add_test(t, bad_usage_exits_2);
	tcase_add_test(t, mpt_run_verdicts);
	tcase_add_test(t, mpt_run_timeout_and_leak);
	tcase_add_test(t, interrupted_runner_kills_and_reports);
	tcase_add_test(t, interrupted_tap_bails_out);
	tcase_add_test(t, hostile_tests_cgroup);
	tcase_add_test(t, hostile_tests_subreaper);
	tcase_add_test(t, max_procs_cgroup);
	tcase_add_test(t, max_procs_subreaper);
	tcase_add_test(t, max_procs_default_stops_2000);
	tcase_add_test(t, max_procs_mpt_run);
	tcase_add_test(t, max_memory_mpt_run);
	tcase_add_test(t, max_procs_allowed);
	tcase_add_test(t, limits_bad_values_exit_2);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
