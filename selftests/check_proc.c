/* Selftests of the process hygiene checks: zombie, leaked-process, crash
 * (any process), exit-status. Every buggy case gets exactly its finding,
 * through the API and through mpt-run; every fixed twin gets none. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static json_object *api_report;
static struct run_result api_run;

/* The API program runs once; each test reads its verdicts. */
static void run_api(void)
{
	if (api_report)
		return;
	char *json = path_in(scratch(), "proc.json");
	char *env[] = {opt("MPT_SELFTEST_PLAIN_PROC", bin("selftests/plain/proc")), NULL};
	char *argv[] = {bin("selftests/progs/hyg_proc"), opt("--json", json), NULL};
	api_run = run_cmd(argv, env, 60);
	api_report = json_load(json);
	ck_assert_msg(api_report != NULL, "no report: %s %s", api_run.out, api_run.err);
}

/* Exactly one finding, of kind, from process id. */
static json_object *api(const char *name)
{
	run_api();
	return json_test(api_report, name);
}

static json_object *under_mpt_run(const char *which, struct run_result *r)
{
	char *json = path_in(scratch(), which);
	char *argv[] = {bin("mpt-run"), opt("--json", json), "--",
			bin("selftests/plain/proc"), (char *)which, NULL};
	*r = run_cmd(argv, NULL, 30);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "%s: no report: %s", which, r->err);
	return json_test(rep, "proc");
}

START_TEST(zombie_api)
{
	json_object *f = expect_only(api("proc/zombie_buggy"), "zombie_buggy", "zombie", "p0.1");
	contains(json_str(f, "message"), "exited with status 3");
	contains(json_str(f, "message"), "its parent p0");
	contains(json_str(f, "detail"), "Forked at mpt__fn_proc__zombie_buggy");
	contains(json_str(f, "detail"), "waitpid(");
	expect_clean(api("proc/zombie_fixed"), "zombie_fixed");
	expect_clean(api("proc/zombie_allowed"), "zombie_allowed");
	/* The human report: which process, forked where, never waited by whom, what to do. */
	contains(api_run.out, "  zombie: p0.1 (pid ");
	contains(api_run.out, "but its parent p0 (pid ");
	contains(api_run.out, "never waited for it");
	contains(api_run.out, "Forked at mpt__fn_proc__zombie_buggy");
}
END_TEST

START_TEST(zombie_mpt_run)
{
	struct run_result r;
	json_object *f = expect_only(under_mpt_run("zombie", &r), "zombie", "zombie", "p0.1");
	contains(json_str(f, "detail"), "(proc.c:"); /* the fork call site, with its line */
	ck_assert_int_eq(r.status, 1);
	expect_clean(under_mpt_run("zombie-fixed", &r), "zombie-fixed");
	ck_assert_int_eq(r.status, 0);
}
END_TEST

START_TEST(leaked_process)
{
	json_object *f = expect_only(api("proc/leaked_buggy"), "leaked_buggy", "leaked-process",
				     "p0.1");
	/* Which process, its program, and where it was forked. */
	contains(json_str(f, "message"), "p0.1 (pid ");
	contains(json_str(f, "message"), ", hyg_proc) was still running when the test ended");
	contains(json_str(f, "detail"), "Started by p0 (pid ");
	contains(json_str(f, "detail"), " at mpt__fn_proc__leaked_buggy (hyg_proc.c:");
	contains(json_str(f, "detail"), "waited for (waitpid)");
	expect_clean(api("proc/leaked_fixed"), "leaked_fixed");
	struct run_result r;
	f = expect_only(under_mpt_run("leak", &r), "leak", "leaked-process", "p0.1");
	contains(json_str(f, "message"), ", proc) was still running");
	contains(json_str(f, "detail"), "Started by p0 (pid ");
	contains(json_str(f, "detail"), "(proc.c:"); /* the fork call site, with its line */
	expect_clean(under_mpt_run("leak-fixed", &r), "leak-fixed");
	/* A worker that became another program, forked by a p0 that is gone:
	 * who started it is still known. */
	f = expect_only(under_mpt_run("leak-exec", &r), "leak-exec", "leaked-process", "p0.1");
	contains(json_str(f, "message"), "p0.1 (pid ");
	contains(json_str(f, "message"), ") was still running");
	contains(json_str(f, "detail"), "Started by p0 (pid ");
	contains(json_str(f, "detail"), "). Every process a test starts"); /* no site */
}
END_TEST

START_TEST(crash_in_any_process)
{
	json_object *f = expect_only(api("proc/crash_buggy"), "crash_buggy", "crash", "p0.1");
	contains(json_str(f, "message"), "SIGABRT");
	contains(json_str(f, "message"), "reaped by p0");
	expect_clean(api("proc/crash_fixed"), "crash_fixed");
	struct run_result r;
	f = expect_only(under_mpt_run("crash", &r), "crash", "crash", "p0.1");
	contains(json_str(f, "message"), "SIGSEGV");
	expect_clean(under_mpt_run("crash-fixed", &r), "crash-fixed");
}
END_TEST

START_TEST(exit_status)
{
	struct run_result r;
	json_object *f = expect_only(under_mpt_run("exit-status", &r), "exit-status", "exit-status", "p0");
	contains(json_str(f, "message"), "status 3");
	/* One line of advice, as every finding has. */
	contains(json_str(f, "detail"), "its output above says why");
	contains(json_str(f, "detail"), "--allow=exit-status");
	expect_clean(under_mpt_run("exit-status-fixed", &r), "exit-status-fixed");
	f = expect_only(api("proc/body_exits_nonzero"), "body_exits_nonzero", "exit-status", "p0");
	contains(json_str(f, "message"), "the test leader exited with status 3");
	contains(json_str(f, "detail"), "MPT_ASSERT");
	expect_clean(api("proc/body_exits_zero"), "body_exits_zero");
}
END_TEST

START_TEST(precision_daemon)
{
	expect_clean(api("proc/daemon_double_fork_is_clean"), "daemon_double_fork_is_clean");
	struct run_result r;
	expect_clean(under_mpt_run("daemon", &r), "daemon");
	/* The grandchild exits before the middle process does. */
	expect_clean(under_mpt_run("daemon-race", &r), "daemon-race");
}
END_TEST

START_TEST(spawned_programs_are_watched)
{
	/* Valgrind runs glibc's posix_spawn (a CLONE_VFORK clone) as a plain
	 * fork of its own, so the spawned program's number is not the one the
	 * shim reserved: this check is about the shim, not memcheck. */
	const char *vg = getenv("MPT_SELFTEST_VALGRIND");
	if (vg && *vg && *vg != '0')
		return;
	json_object *f = expect_only(api("proc/spawned_program_leaves_zombie"),
				 "spawned_program_leaves_zombie", "zombie", "p0.1.1");
	contains(json_str(f, "message"), "its parent p0.1");
	contains(json_str(f, "message"), "proc"); /* the exec'd program's name */
}
END_TEST

START_TEST(explicit_assertion)
{
	/* The assertion fails mid-test, and the zombie is still reported. */
	json_object *t = api("proc/assert_no_children_mid_test");
	ck_assert_str_eq(json_str(t, "status"), "fail");
	json_object *f = json_finding(t, "assertion");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(json_str(f, "process"), "p0");
	ck_assert_int_eq(json_count_kind(t, "zombie"), 1);
	contains(json_str(f, "message"), "1 child left");
	contains(json_str(f, "message"), "p0.1, exited, not reaped");
	expect_clean(api("proc/assert_no_children_passes"), "assert_no_children_passes");
}
END_TEST

START_TEST(explicit_fd_and_lock_assertions)
{
	json_object *f = expect_only(api("proc/assert_fds_unchanged_fails"),
				 "assert_fds_unchanged_fails", "assertion", "p0");
	contains(json_str(f, "message"), "mpt_assert_fds_unchanged() failed: 1 descriptor");
	contains(json_str(f, "message"), "(/dev/null) made by open() at mpt__fn_proc__assert_fds_unchanged_fails");
	/* Made by a call the shim does not watch, as the body's first act. */
	f = expect_only(api("proc/assert_fds_unchanged_sees_unwatched"),
			"assert_fds_unchanged_sees_unwatched", "assertion", "p0");
	contains(json_str(f, "message"), "mpt_assert_fds_unchanged() failed: 1 descriptor");
	contains(json_str(f, "message"), "(anon_inode:[eventfd])");
	expect_clean(api("proc/assert_fds_unchanged_passes"), "assert_fds_unchanged_passes");
	f = expect_only(api("proc/assert_no_locks_fails"), "assert_no_locks_fails", "assertion", "p0");
	contains(json_str(f, "message"), "mpt_assert_no_locks() failed: 1 lock still held: process-shared mutex 0x");
	contains(json_str(f, "message"), "taken at mpt__fn_proc__assert_no_locks_fails");
	expect_clean(api("proc/assert_no_locks_passes"), "assert_no_locks_passes");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proc");
	TCase *t = tcase_create("proc");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, zombie_api);
	tcase_add_test(t, zombie_mpt_run);
	tcase_add_test(t, leaked_process);
	tcase_add_test(t, crash_in_any_process);
	tcase_add_test(t, exit_status);
	tcase_add_test(t, precision_daemon);
	tcase_add_test(t, spawned_programs_are_watched);
	tcase_add_test(t, explicit_assertion);
	tcase_add_test(t, explicit_fd_and_lock_assertions);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
