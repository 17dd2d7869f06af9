/* Selftests of the integrations: libfaketime (--faketime), Valgrind
 * (--valgrind) and Check (include/mptest-check.h), each through the API and
 * mpt-run. A tool configure did not find is skipped with the reason (and
 * the program is then a SKIP for Automake, exit 77), except in CI
 * (CI=true), where .ci/run installs all three and a missing one fails. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"

static int under_valgrind(void)
{
	const char *v = getenv("MPT_SELFTEST_VALGRIND");
	return v && *v && *v != '0';
}

/* Runs argv, which writes the JSON report json; returns the test named
 * name from it (the report stays loaded for the life of the process). */
static json_object *report_of(char *const argv[], char *const env[], const char *json,
			      const char *name, struct run_result *r)
{
	*r = run_cmd(argv, env, 120);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "no report from %s: %s %s", argv[0], r->out, r->err);
	json_object *t = json_test(rep, name);
	ck_assert_msg(t != NULL, "%s missing from the report: %s", name, r->out);
	return t;
}

static int nfindings(json_object *t)
{
	json_object *fs;
	if (!json_object_object_get_ex(t, "findings", &fs))
		return -1;
	return (int)json_object_array_length(fs);
}

static void clean(json_object *t, const struct run_result *r)
{
	json_object *fs;
	ck_assert(json_object_object_get_ex(t, "findings", &fs));
	ck_assert_msg(json_object_array_length(fs) == 0, "findings: %s\n%s",
		      json_object_to_json_string(fs), r->out);
	ck_assert_str_eq(json_str(t, "status"), "pass");
}

static double duration_s(json_object *t)
{
	json_object *v;
	ck_assert(json_object_object_get_ex(t, "duration_ms", &v));
	return json_object_get_double(v) / 1000.0;
}

/* ---- libfaketime ----------------------------------------------------------- */

/* A test that sleeps 10 s (leader and child) passes within its 3 s timeout,
 * the runner's, on the real clock. */
START_TEST(faketime_api_sleeper)
{
	char *json = path_in(scratch(), "ft-api.json");
	char *argv[] = {bin("selftests/progs/integ_api"), "--faketime=+0 x20",
			"--filter=integ/sleep_ten", opt("--json", json), NULL};
	struct run_result r;
	json_object *t = report_of(argv, NULL, json, "integ/sleep_ten", &r);
	clean(t, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(duration_s(t) < 3.0, "took %.2f s", duration_s(t));
	if (!under_valgrind())
		ck_assert_msg(r.seconds < 3.0, "took %.2f s of wall time", r.seconds);
	fprintf(stderr, "faketime (API): 10 s of sleep in %.2f s of wall time\n", r.seconds);
}
END_TEST

START_TEST(faketime_mpt_run_sleeper)
{
	char *json = path_in(scratch(), "ft-run.json");
	char *argv[] = {bin("mpt-run"), "--faketime=+0 x20", opt("--json", json), "--",
			bin("selftests/plain/integ_sleep"), "ten", NULL};
	struct run_result r;
	json_object *t = report_of(argv, NULL, json, "integ_sleep", &r);
	clean(t, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(duration_s(t) < 3.0, "took %.2f s", duration_s(t));
	if (!under_valgrind())
		ck_assert_msg(r.seconds < 3.0, "took %.2f s of wall time", r.seconds);
	fprintf(stderr, "faketime (mpt-run): 10 s of sleep in %.2f s of wall time\n", r.seconds);
}
END_TEST

static int exists(const char *fmt, int pid)
{
	char path[128];
	snprintf(path, sizeof path, fmt, pid);
	return access(path, F_OK) == 0;
}

/* A test killed at its timeout leaves no libfaketime files in /dev/shm; and
 * the timeout is real time: 1 s, not 1/20 s, not 20 s. */
static void no_shm_left(const char *pidfile)
{
	int pid = -1, made = -1;
	FILE *f = fopen(pidfile, "r");
	ck_assert_msg(f != NULL, "the test did not write %s", pidfile);
	ck_assert_int_eq(fscanf(f, "%d %d", &pid, &made), 2);
	fclose(f);
	ck_assert_msg(made == 1, "libfaketime made no /dev/shm/faketime_shm_%d: nothing "
		      "to clean up, the test proves nothing", pid);
	ck_assert_msg(!exists("/dev/shm/faketime_shm_%d", pid), "faketime_shm_%d left", pid);
	ck_assert_msg(!exists("/dev/shm/sem.faketime_sem_%d", pid), "sem.faketime_sem_%d left",
		      pid);
}

START_TEST(faketime_killed_api)
{
	char *json = path_in(scratch(), "ft-killed.json");
	char *env[] = {opt("MPT_SELFTEST_DIR", scratch()), NULL};
	char *argv[] = {bin("selftests/progs/integ_api"), "--faketime=+0 x20",
			"--filter=integ/killed_under_faketime", opt("--json", json), NULL};
	struct run_result r;
	json_object *t = report_of(argv, env, json, "integ/killed_under_faketime", &r);
	json_object *f = json_finding(t, "timeout");
	ck_assert_msg(f != NULL, "no timeout: %s", r.out);
	contains(json_str(f, "message"), "past its 1 s timeout");
	ck_assert_msg(duration_s(t) > 0.9, "killed after %.2f s", duration_s(t));
	no_shm_left(path_in(scratch(), "killed.pid"));
}
END_TEST

START_TEST(faketime_killed_mpt_run)
{
	char *pidfile = path_in(scratch(), "hang.pid");
	char *argv[] = {bin("mpt-run"), "--faketime=+0 x20", "--timeout=1s", "--",
			bin("selftests/plain/integ_sleep"), "hang", pidfile, NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	ck_assert_int_eq(r.status, 1);
	contains(r.out, "past its 1 s timeout");
	no_shm_left(pidfile);
}
END_TEST

/* Usage errors: one line naming the token, exit 2. */
static void usage_error(char *const argv[], char *const env[], const char *token,
			const char *why)
{
	struct run_result r = run_cmd(argv, env, 60);
	ck_assert_msg(r.status == 2, "exit %d: %s %s", r.status, r.out, r.err);
	contains(r.err, token);
	contains(r.err, why);
	ck_assert_msg(count_str(r.err, "\n") == 1, "not one line: %s", r.err);
}

START_TEST(faketime_usage)
{
	char *absent[] = {"MPT_FAKETIME_LIB=/nonexistent/libfaketime.so.1", NULL};
	char *a1[] = {bin("mpt-run"), "--faketime=+0 x2", "--", "true", NULL};
	usage_error(a1, absent, "mpt-run: --faketime — ", "libfaketime is not available");
	char *a2[] = {bin("selftests/progs/integ_api"), "--faketime=+0 x2", NULL};
	usage_error(a2, absent, "integ_api: --faketime — ", "libfaketime is not available");
	char *a3[] = {bin("mpt-run"), "--faketime=soon", "--", "true", NULL};
	usage_error(a3, NULL, "--faketime=soon", "not a libfaketime time");
	/* There, but no library: ld.so would skip it with a warning in the
	 * test's output, and the test would run on the real clock. */
	char *text[] = {"MPT_FAKETIME_LIB=/etc/passwd", NULL};
	usage_error(a1, text, "mpt-run: MPT_FAKETIME_LIB=/etc/passwd — ",
		    "not a shared library (no ELF header) for --faketime");
	usage_error(a2, text, "integ_api: MPT_FAKETIME_LIB=/etc/passwd — ",
		    "not a shared library (no ELF header) for --faketime");
	char *dir[] = {opt("MPT_FAKETIME_LIB", scratch()), NULL};
	usage_error(a1, dir, dir[0], "a directory, not a shared library");
}
END_TEST

/* ---- Valgrind ------------------------------------------------------------- */

static void is_use_after_free(json_object *t, const struct run_result *r)
{
	ck_assert_str_eq(json_str(t, "status"), "fail");
	ck_assert_msg(nfindings(t) == 1 && json_count_kind(t, "valgrind") == 1,
		      "expected one valgrind finding: %s", r->out);
	json_object *f = json_finding(t, "valgrind");
	ck_assert_str_eq(json_str(f, "process"), "p0.1");
	ck_assert_int_gt(json_int(f, "pid"), 0);
	contains(json_str(f, "message"), "Invalid read of size 4");
	contains(json_str(f, "detail"), "free'd");
	contains(json_str(f, "detail"), "Block was alloc'd at");
}

START_TEST(valgrind_child_use_after_free)
{
	char *json = path_in(scratch(), "vg-uaf-api.json");
	char *argv[] = {bin("selftests/progs/integ_api"), "--valgrind",
			"--filter=integ/child_use_after_free", opt("--json", json), NULL};
	struct run_result r;
	json_object *t = report_of(argv, NULL, json, "integ/child_use_after_free", &r);
	is_use_after_free(t, &r);
	contains(json_str(json_finding(t, "valgrind"), "message"), "(integ_api.c:");
	ck_assert_int_eq(r.status, 1);

	json = path_in(scratch(), "vg-uaf-run.json");
	char *argv2[] = {bin("mpt-run"), "--valgrind", opt("--json", json), "--",
			 bin("selftests/plain/integ_vg"), "uaf", NULL};
	t = report_of(argv2, NULL, json, "integ_vg", &r);
	is_use_after_free(t, &r);
	contains(json_str(json_finding(t, "valgrind"), "message"), "at uaf (integ_vg.c:");
	ck_assert_int_eq(r.status, 1);
	/* The human report names the process and Valgrind's first lines. */
	char *argv3[] = {bin("mpt-run"), "--valgrind", "--",
			 bin("selftests/plain/integ_vg"), "uaf", NULL};
	r = run_cmd(argv3, NULL, 120);
	contains(r.out, "  valgrind: p0.1 (pid ");
	contains(r.out, "Invalid read of size 4 at uaf (integ_vg.c:");
}
END_TEST

/* The child that read freed memory then execs /bin/true: the same pid
 * under a new Valgrind, which used to truncate the log of the first. */
START_TEST(valgrind_use_after_free_then_exec)
{
	char *json = path_in(scratch(), "vg-uafexec-api.json");
	char *argv[] = {bin("selftests/progs/integ_api"), "--valgrind",
			"--filter=integ/child_use_after_free_then_exec", opt("--json", json), NULL};
	struct run_result r;
	json_object *t = report_of(argv, NULL, json, "integ/child_use_after_free_then_exec", &r);
	is_use_after_free(t, &r);
	contains(json_str(json_finding(t, "valgrind"), "message"), "(integ_api.c:");
	ck_assert_int_eq(r.status, 1);

	json = path_in(scratch(), "vg-uafexec-run.json");
	char *argv2[] = {bin("mpt-run"), "--valgrind", opt("--json", json), "--",
			 bin("selftests/plain/integ_vg"), "uafexec", NULL};
	t = report_of(argv2, NULL, json, "integ_vg", &r);
	is_use_after_free(t, &r);
	contains(json_str(json_finding(t, "valgrind"), "message"), "at uaf (integ_vg.c:");
	ck_assert_int_eq(r.status, 1);
}
END_TEST

/* Forks, an exec'd filter and pipes, all under memcheck with the shim:
 * nothing to report, from Valgrind or from the shim. */
START_TEST(valgrind_clean_pipeline)
{
	char *json = path_in(scratch(), "vg-clean-api.json");
	char *argv[] = {bin("selftests/progs/integ_api"), "--valgrind",
			"--filter=integ/clean_pipeline", opt("--json", json), NULL};
	struct run_result r;
	json_object *t = report_of(argv, NULL, json, "integ/clean_pipeline", &r);
	clean(t, &r);
	ck_assert_int_eq(r.status, 0);

	json = path_in(scratch(), "vg-clean-run.json");
	char *argv2[] = {bin("mpt-run"), "--valgrind", opt("--json", json), "--",
			 bin("selftests/plain/integ_vg"), "pipeline", NULL};
	t = report_of(argv2, NULL, json, "integ_vg", &r);
	clean(t, &r);
	ck_assert_int_eq(r.status, 0);
}
END_TEST

/* ARGS reach Valgrind: a lost block is an error only with
 * --leak-check=full; a comma inside an option's value stays in it. */
START_TEST(valgrind_args)
{
	char *json = path_in(scratch(), "vg-leak.json");
	char *argv[] = {bin("mpt-run"),
			"--valgrind=--leak-check=full,--errors-for-leak-kinds=definite,possible",
			opt("--json", json), "--", bin("selftests/plain/integ_vg"), "leak", NULL};
	struct run_result r;
	json_object *t = report_of(argv, NULL, json, "integ_vg", &r);
	json_object *f = json_finding(t, "valgrind");
	ck_assert_msg(f != NULL, "no valgrind finding: %s", r.out);
	contains(json_str(f, "message"), "definitely lost");
	ck_assert_str_eq(json_str(f, "process"), "p0");

	json = path_in(scratch(), "vg-noleak.json");
	char *argv2[] = {bin("mpt-run"), "--valgrind", opt("--json", json), "--",
			 bin("selftests/plain/integ_vg"), "leak", NULL};
	clean(report_of(argv2, NULL, json, "integ_vg", &r), &r);
}
END_TEST

/* A crash's finding says where Valgrind saw the process die. */
START_TEST(valgrind_crash_stack)
{
	char *json = path_in(scratch(), "vg-crash.json");
	char *argv[] = {bin("mpt-run"), "--valgrind", opt("--json", json), "--",
			bin("selftests/plain/integ_vg"), "crash", NULL};
	struct run_result r;
	json_object *t = report_of(argv, NULL, json, "integ_vg", &r);
	json_object *f = json_finding(t, "crash");
	ck_assert_msg(f != NULL, "no crash: %s", r.out);
	contains(json_str(f, "detail"), "Where Valgrind saw it end:");
	contains(json_str(f, "detail"), "crash (integ_vg.c:");
}
END_TEST

/* Timeouts scale by 10 under Valgrind. */
START_TEST(valgrind_timeout_scales)
{
	char *pidfile = path_in(scratch(), "vg-hang.pid");
	char *argv[] = {bin("mpt-run"), "--valgrind", "--timeout=200ms", "--",
			bin("selftests/plain/integ_sleep"), "hang", pidfile, NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	ck_assert_int_eq(r.status, 1);
	contains(r.out, "past its 2 s timeout");
}
END_TEST

START_TEST(valgrind_usage)
{
	char *absent[] = {"MPT_VALGRIND=/nonexistent/valgrind", NULL};
	char *a1[] = {bin("mpt-run"), "--valgrind", "--", "true", NULL};
	usage_error(a1, absent, "mpt-run: --valgrind — ", "Valgrind is not available");
	char *a2[] = {bin("selftests/progs/integ_api"), "--valgrind", NULL};
	usage_error(a2, absent, "integ_api: --valgrind — ", "Valgrind is not available");
	char *a3[] = {bin("mpt-run"), "--valgrind=--log-file=x", "--", "true", NULL};
	usage_error(a3, NULL, "--valgrind=--log-file=x", "mptest keeps Valgrind's log");
	char *a4[] = {bin("mpt-run"), "--valgrind=--leak-check=full verbose", "--", "true", NULL};
	usage_error(a4, NULL, "verbose", "not a Valgrind option");
	/* MPT_VALGRIND naming a directory or a file that does not run: one
	 * line before any test, not an error per test. */
	char *dir[] = {opt("MPT_VALGRIND", scratch()), NULL};
	usage_error(a1, dir, dir[0], "a directory, not the valgrind program");
	usage_error(a2, dir, dir[0], "a directory, not the valgrind program");
	char *text[] = {"MPT_VALGRIND=/etc/passwd", NULL};
	usage_error(a1, text, "MPT_VALGRIND=/etc/passwd — ", "not executable");
	/* Options that would quietly defeat the checks: refused, whatever
	 * Valgrind would make of them. */
	static const char *const defeat[][2] = {
		{"--valgrind=--trace-children=no", "--trace-children=yes"},
		{"--valgrind=--tool=helgrind", "reads no other tool's"},
		{"--valgrind=--vgdb=yes", "waiting for a debugger"},
		{"--valgrind=--child-silent-after-fork", "--child-silent-after-fork=no"},
		{"--valgrind=--child-silent-after-fork=yes", "--child-silent-after-fork=no"},
		{"--valgrind=--version", "exit without running the test"},
	};
	for (size_t i = 0; i < sizeof defeat / sizeof *defeat; i++) {
		char *a[] = {bin("mpt-run"), (char *)defeat[i][0], "--", "true", NULL};
		usage_error(a, NULL, defeat[i][0], defeat[i][1]);
	}
	char *a5[] = {bin("selftests/progs/integ_api"), "--valgrind=--tool=helgrind", NULL};
	usage_error(a5, NULL, "integ_api: --valgrind=--tool=helgrind — ", "reads no other tool's");
}
END_TEST

/* Options Valgrind itself refuses are usage errors naming the option, found
 * once before any test (not an exit-status finding per test); the values
 * mptest sets anyway are accepted. */
START_TEST(valgrind_refused_args)
{
	static const char *const refused[][3] = {
		{"--valgrind=--no-such-option", "--valgrind=--no-such-option — ",
		 "Valgrind refused it: Unknown option: --no-such-option"},
		{"--valgrind=--leak-check=bogus", "--valgrind=--leak-check=bogus — ",
		 "Unknown option: --leak-check=bogus"},
		{"--valgrind=--num-callers=abc", "--valgrind=--num-callers=abc — ",
		 "Bad option: --num-callers=abc"},
		{"--valgrind=--leak-check=full,--num-callers=abc",
		 "--valgrind=...--num-callers=abc... — ", "Bad option: --num-callers=abc"},
		{"--valgrind=--suppressions=/nonexistent.supp",
		 "--valgrind=--suppressions=/nonexistent.supp — ",
		 "can't open suppressions file"},
	};
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		char *a[] = {bin("mpt-run"), (char *)refused[i][0], "--", "true", NULL};
		usage_error(a, NULL, refused[i][1], refused[i][2]);
	}
	char *a2[] = {bin("selftests/progs/integ_api"), "--valgrind=--num-callers=abc",
		      "--filter=integ/clean_pipeline", NULL};
	usage_error(a2, NULL, "integ_api: --valgrind=--num-callers=abc — ",
		    "Bad option: --num-callers=abc");
	char *ok[] = {bin("mpt-run"), "--valgrind=--trace-children=yes --tool=memcheck --vgdb=no",
		      "--", "true", NULL};
	struct run_result r = run_cmd(ok, NULL, 120);
	ck_assert_msg(r.status == 0, "exit %d: %s %s", r.status, r.out, r.err);
}
END_TEST

/* ---- Check ---------------------------------------------------------------- */

/* Check's verbose line for a test: "file:line:R:tcase:name:0: message". */
static const char *check_line(const char *out, const char *name)
{
	static char line[4096];
	char key[128];
	snprintf(key, sizeof key, ":guard:%s:", name);
	const char *p = strstr(out, key);
	ck_assert_msg(p != NULL, "no result for %s in: %s", name, out);
	const char *start = p;
	while (start > out && start[-1] != '\n')
		start--;
	const char *end = strchr(p, '\n');
	snprintf(line, sizeof line, "%.*s", (int)(end ? end - start : (long)strlen(start)), start);
	return line;
}

static void passed(const char *out, const char *name)
{
	const char *l = check_line(out, name);
	ck_assert_msg(strstr(l, ":P:guard:"), "%s did not pass: %s", name, l);
}

static const char *failed(const char *out, const char *name, const char *kind)
{
	const char *l = check_line(out, name);
	ck_assert_msg(!strstr(l, ":P:guard:") && !strstr(l, ":E:guard:"),
		      "%s did not fail: %s", name, l);
	char want[64];
	snprintf(want, sizeof want, "%s: ", kind);
	contains(l, want);
	return l;
}

static void all_dead(const char *pidfile)
{
	FILE *f = fopen(pidfile, "r");
	ck_assert(f != NULL);
	int pid, n = 0;
	while (fscanf(f, "%d", &pid) == 1) {
		ck_assert_msg(!alive(pid), "process %d survived its test: %s", pid, proc_stat(pid));
		n++;
	}
	fclose(f);
	ck_assert_int_eq(n, 3);
}

/* mode: NULL (fork mode), "no" (CK_FORK=no) or "code" (CK_NOFORK set with
 * srunner_set_fork_status(), which leaves no trace in the environment). */
static void guard_verdicts(const char *mode)
{
	const char *ck_fork = mode; /* any NOFORK */
	char *pidfile = path_in(scratch(), !mode ? "ck-fork.pids" : !strcmp(mode, "no")
					   ? "ck-nofork.pids" : "ck-nofork-code.pids");
	char *env[] = {!mode ? NULL : !strcmp(mode, "no") ? opt("CK_FORK", "no")
							  : "MPT_SELFTEST_NOFORK_IN_CODE=1",
		       NULL};
	char *argv[] = {bin("selftests/progs/integ_check"), pidfile, NULL};
	struct run_result r = run_cmd(argv, env, 120);
	ck_assert_msg(r.status == 1, "exit %d: %s %s", r.status, r.out, r.err);
	/* In CK_NOFORK the test's own descriptors are not checked. */
	contains(r.out, ck_fork ? "Checks: 18, Failures: 10, Errors: 0"
				: "Checks: 18, Failures: 11, Errors: 0");
	const char *l = failed(r.out, "zombie_leaving", "zombie");
	contains(l, "zombie: p0.1 (pid ");
	contains(l, "never waited for it");
	contains(l, "Forked at zombie_leaving_fn (integ_check.c:");
	passed(r.out, "zombie_reaped");
	contains(failed(r.out, "worker_left_running", "leaked-process"), "p0.1 (pid ");
	passed(r.out, "worker_stopped");
	contains(failed(r.out, "daemon_left_running", "leaked-process"), "p0.1.1 (pid ");
	contains(failed(r.out, "grandchild_zombie", "zombie"), "Seen when the parent exited");
	contains(failed(r.out, "child_assertion", "assertion"), "MPT_ASSERT_EQ(getppid(), 1)");
	if (ck_fork) {
		passed(r.out, "fd_leak_buggy");
	} else {
		l = failed(r.out, "fd_leak_buggy", "fd-leak");
		contains(l, "fd-leak: fd ");
		contains(l, "Made by pipe() at fd_leak_buggy_fn (integ_check.c:");
	}
	passed(r.out, "fd_leak_fixed");
	l = failed(r.out, "lock_held_buggy", "lock-held");
	contains(l, "lock-held: p0.1 (pid ");
	contains(l, "exited while holding process-shared mutex");
	contains(l, "Locked at lock_held_buggy_fn (integ_check.c:");
	passed(r.out, "lock_held_fixed");
	/* Held by the test's own process: named alive, with its call site,
	 * in both modes (CK_NOFORK used to say "died" at a bare address). */
	l = failed(r.out, "lock_held_by_test", "lock-held");
	contains(l, "lock-held: p0 (pid ");
	contains(l, "exited while holding process-shared mutex");
	contains(l, "Locked at lock_held_by_test_fn (integ_check.c:");
	l = failed(r.out, "stdio_duplicate_buggy", "stdio-duplicate");
	contains(l, "stdio-duplicate: p0.1 (pid ");
	contains(l, "(\"starting\\n\")");
	passed(r.out, "stdio_duplicate_fixed");
	l = failed(r.out, "crash_buggy", "crash");
	contains(l, "crash: p0.1 (pid ");
	contains(l, "died of SIGABRT");
	passed(r.out, "crash_fixed");
	/* Failed by its own ck_assert; its daemon killed all the same (fork
	 * mode: by the guard as the test's process exits). */
	contains(check_line(r.out, "daemon_then_failed_assert"),
		 ":F:guard:daemon_then_failed_assert:0: the test failed with its daemon running");
	/* A shell script's background job, a zombie of ours only by adoption. */
	passed(r.out, "adopted_zombie_not_ours");
	all_dead(pidfile);
}

START_TEST(check_guard_fork_mode)
{
	guard_verdicts(NULL);
}
END_TEST

START_TEST(check_guard_nofork_mode)
{
	guard_verdicts("no");
}
END_TEST

/* The first test of a CK_NOFORK runner used to be taken for fork mode:
 * its process's descriptors were checked, and the message file Check
 * reopens between the fixture and the test was an fd-leak. */
START_TEST(check_guard_nofork_in_code)
{
	guard_verdicts("code");
}
END_TEST

/* A tool configure did not find makes this program a SKIP for Automake
 * (exit 77), not a PASS; in CI (CI=true), which installs every tool, a
 * missing one fails it. The program runs itself with no test selected
 * (CK_RUN_CASE names no case) and tools declared missing. */
START_TEST(missing_tool_is_a_skip)
{
	/* The messages below quote no output of the inner run: its "Checks:"
	 * line in this log would be counted by dev.sh as this program's. */
	char *self = bin("selftests/check_integrations");
	char *argv[] = {self, NULL};
	char *missing[] = {"MPT_SELFTEST_MISSING=libfaketime,Valgrind", "CK_RUN_CASE=none",
			   "CI=", NULL};
	struct run_result r = run_cmd(argv, missing, 60);
	ck_assert_msg(r.status == 77, "tools missing: exit %d, not 77", r.status);
	ck_assert_msg(strstr(r.out, "SKIP: the libfaketime selftests — libfaketime was not "
			     "found by configure (apt-get install libfaketime, then "
			     "re-run configure)\n"), "no SKIP line for libfaketime");
	ck_assert_msg(strstr(r.out, "could not run (above); the rest passed\n"),
		      "no closing SKIP line");
	run_free(&r);

	char *in_ci[] = {"MPT_SELFTEST_MISSING=libfaketime", "CK_RUN_CASE=none", "CI=true",
			 NULL};
	r = run_cmd(argv, in_ci, 60);
	ck_assert_msg(r.status == 1, "a tool missing in CI: exit %d, not 1", r.status);
	ck_assert_msg(strstr(r.err, "check_integrations: libfaketime not found — CI installs it"),
		      "no CI error for libfaketime");
	run_free(&r);

	/* Every tool there (as in this build, if configure found them): 0. */
	int all = MPT_FAKETIME_LIB[0] && access(MPT_FAKETIME_LIB, R_OK) == 0;
#ifndef __SANITIZE_ADDRESS__
	all = all && MPT_VALGRIND_PATH[0] && access(MPT_VALGRIND_PATH, R_OK) == 0;
#endif
	char *none[] = {"MPT_SELFTEST_MISSING=", "CK_RUN_CASE=none", "CI=", NULL};
	r = run_cmd(argv, none, 60);
	ck_assert_msg(r.status == (all ? 0 : 77), "exit %d, not %d", r.status, all ? 0 : 77);
	run_free(&r);
}
END_TEST

/* The example: the guard fails the buggy test through Check; without it,
 * Check passes both, and mpt-run finds the zombie in the test's process. */
START_TEST(check_example)
{
	char *argv[] = {bin("examples/check-adapter/check_worker"), NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	ck_assert_int_eq(r.status, 1);
	contains(r.out, "Checks: 2, Failures: 1, Errors: 0");
	contains(r.out, ":square:square_buggy_answers:0: zombie: p0.1 (pid ");
	contains(r.out, "Forked at ask (worker.c:");
	contains(r.out, ":P:square:square_fixed_answers:");

	char *json = path_in(scratch(), "ck-example.json");
	char *argv2[] = {bin("mpt-run"), opt("--json", json), "--",
			 bin("examples/check-adapter/check_worker_plain"), NULL};
	json_object *t = report_of(argv2, NULL, json, "check_worker_plain", &r);
	contains(r.out, "100%: Checks: 2, Failures: 0, Errors: 0");
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(nfindings(t) == 1, "findings: %s", r.out);
	json_object *f = json_finding(t, "zombie");
	ck_assert_msg(f != NULL, "no zombie: %s", r.out);
	ck_assert_str_eq(json_str(f, "process"), "p0.1.1");
	contains(json_str(f, "detail"), "Forked at ask (worker.c:");
}
END_TEST

/* Whether MPT_SELFTEST_MISSING (a comma-separated list of tool names, as
 * have() names them) says to act as if what were missing: for the test of
 * the skip itself (missing_tool_is_a_skip). */
static int pretend_missing(const char *what)
{
	const char *list = getenv("MPT_SELFTEST_MISSING");
	size_t n = strlen(what);
	for (const char *p = list; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] != 0))
		if (strcspn(p, ",") == n && !strncmp(p, what, n))
			return 1;
	return 0;
}

/* Parts skipped because configure did not find their tool. Automake has
 * one result per program: with any part skipped the program ends with 77
 * (SKIP) once the rest has passed, or 1 if anything failed; ending with 0
 * counted a missing tool as a pass. */
static int skipped_parts;

/* A tool configure did not find: skipped with the reason, except in CI. */
static int have(const char *what, const char *path, const char *package)
{
	if (path[0] && access(path, R_OK) == 0 && !pretend_missing(what))
		return 1;
	const char *ci = getenv("CI");
	if (ci && !strcmp(ci, "true")) {
		fprintf(stderr, "check_integrations: %s not found — CI installs it "
			"(apt-get install %s)\n", what, package);
		exit(1);
	}
	printf("SKIP: the %s selftests — %s was not found by configure "
	       "(apt-get install %s, then re-run configure)\n", what, what, package);
	skipped_parts++;
	return 0;
}

int main(void)
{
	Suite *s = suite_create("integrations");
	TCase *t = tcase_create("integrations");
	tcase_set_timeout(t, 300);
	if (have("libfaketime", MPT_FAKETIME_LIB, "libfaketime")) {
		tcase_add_test(t, faketime_api_sleeper);
		tcase_add_test(t, faketime_mpt_run_sleeper);
		tcase_add_test(t, faketime_killed_api);
		tcase_add_test(t, faketime_killed_mpt_run);
	}
	tcase_add_test(t, faketime_usage);
#ifdef __SANITIZE_ADDRESS__
	/* The programs of this build carry AddressSanitizer, which cannot run
	 * under Valgrind; the non-ASan CI build runs these tests. */
	printf("SKIP: the Valgrind selftests — this is an AddressSanitizer build\n");
	if (0)
#endif
	if (have("Valgrind", MPT_VALGRIND_PATH, "valgrind")) {
		tcase_add_test(t, valgrind_child_use_after_free);
		tcase_add_test(t, valgrind_use_after_free_then_exec);
		tcase_add_test(t, valgrind_clean_pipeline);
		tcase_add_test(t, valgrind_args);
		tcase_add_test(t, valgrind_crash_stack);
		tcase_add_test(t, valgrind_timeout_scales);
		tcase_add_test(t, valgrind_refused_args);
	}
	tcase_add_test(t, valgrind_usage);
	tcase_add_test(t, check_guard_fork_mode);
	tcase_add_test(t, check_guard_nofork_mode);
	tcase_add_test(t, check_guard_nofork_in_code);
	tcase_add_test(t, check_example);
	tcase_add_test(t, missing_tool_is_a_skip);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (!failed && skipped_parts)
		printf("SKIP: %d part%s of these selftests could not run (above); the "
		       "rest passed\n", skipped_parts, skipped_parts == 1 ? "" : "s");
	return failed ? 1 : skipped_parts ? 77 : 0;
}
