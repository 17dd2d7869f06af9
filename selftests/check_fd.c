/* Selftests of the fd-leak checks (HAZARDS rows 5 and 8). Every buggy case
 * gets exactly its finding, from the right process, naming the descriptor,
 * its target and where it was made, through the API and through mpt-run;
 * every fixed twin and every precision case gets none and passes. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static json_object *api_report;
static struct run_result api_run;

/* Reports live until the test process exits (findings point into them);
 * everything else is freed where it is used, so Valgrind stays quiet. */
static json_object *reports[32];
static int nreports;

static void free_reports(void)
{
	while (nreports > 0)
		json_object_put(reports[--nreports]);
	run_free(&api_run);
	memset(&api_run, 0, sizeof api_run);
}

static json_object *keep(json_object *rep)
{
	static int registered;
	if (!registered++)
		atexit(free_reports);
	if (rep && nreports < (int)(sizeof reports / sizeof reports[0]))
		reports[nreports++] = rep;
	return rep;
}


/* The API program runs once per test process; each test reads its verdicts. */
static void run_api(void)
{
	if (api_report)
		return;
	char *json = path_in(scratch(), "fd.json");
	char *plain = bin("selftests/plain/fd");
	char *env[] = {opt("MPT_SELFTEST_PLAIN_FD", plain), NULL};
	char *argv[] = {bin("selftests/progs/hyg_fd"), opt("--json", json), NULL};
	api_run = run_cmd(argv, env, 60);
	api_report = keep(json_load(json));
	ck_assert_msg(api_report != NULL, "no report: %s %s", api_run.out, api_run.err);
	free(json);
	free(plain);
	free(env[0]);
	free(argv[0]);
	free(argv[1]);
}

static json_object *api(const char *name)
{
	run_api();
	return json_test(api_report, name);
}

/* Runs plain/fd CASE under mpt-run; *status is mpt-run's exit code. */
static json_object *under_mpt_run(const char *which, int *status)
{
	char *json = path_in(scratch(), which);
	char *argv[] = {bin("mpt-run"), opt("--json", json), "--",
			bin("selftests/plain/fd"), (char *)which, NULL};
	struct run_result r = run_cmd(argv, NULL, 30);
	json_object *rep = keep(json_load(json));
	ck_assert_msg(rep != NULL, "%s: no report: %s", which, r.err);
	*status = r.status;
	run_free(&r);
	free(json);
	free(argv[0]);
	free(argv[1]);
	free(argv[3]);
	return json_test(rep, "fd");
}

static json_object *findings(json_object *t)
{
	json_object *fs;
	ck_assert(json_object_object_get_ex(t, "findings", &fs));
	return fs;
}

/* Exactly one finding, an fd-leak, from process id. */
static json_object *exactly(json_object *t, const char *name, const char *id)
{
	json_object *f = expect_only(t, name, "fd-leak", id);
	ck_assert_int_gt(json_int(f, "pid"), 1);
	return f;
}

/* The message names the descriptor: "fd N (target)". */
static void names_fd(json_object *f, const char *target)
{
	const char *m = json_str(f, "message");
	const char *at = m ? strstr(m, "fd ") : NULL;
	ck_assert_msg(at && at[3] >= '0' && at[3] <= '9', "no \"fd N\" in \"%s\"", m);
	char want[64];
	snprintf(want, sizeof want, " (%s", target);
	contains(at, want);
}

/* ---- the leader: open at its end, not open at its start ------------------ */

START_TEST(api_leak_open)
{
	json_object *f = exactly(api("fd/leak_open_buggy"), "leak_open_buggy", "p0");
	names_fd(f, "/dev/null)");
	contains(json_str(f, "message"), "still open when p0 (pid ");
	contains(json_str(f, "message"), "hyg_fd)"); /* the program */
	contains(json_str(f, "detail"), "Made by open() at mpt__fn_fd__leak_open_buggy (hyg_fd.c:");
	contains(json_str(f, "detail"), "O_CLOEXEC");
	expect_clean(api("fd/leak_open_fixed"), "leak_open_fixed");
	/* The human report shows it too. */
	contains(api_run.out, "fd-leak in p0 (pid ");
}
END_TEST

START_TEST(api_leak_pipe)
{
	json_object *f = exactly(api("fd/leak_pipe_buggy"), "leak_pipe_buggy", "p0");
	names_fd(f, "pipe:[");
	contains(json_str(f, "detail"), "Made by pipe() at mpt__fn_fd__leak_pipe_buggy");
	expect_clean(api("fd/leak_pipe_fixed"), "leak_pipe_fixed");
	f = exactly(api("fd/leak_fopen_buggy"), "leak_fopen_buggy", "p0");
	names_fd(f, "/dev/null)");
	contains(json_str(f, "detail"), "Made by fopen() at mpt__fn_fd__leak_fopen_buggy");
}
END_TEST

/* A descriptor made by a call the shim does not watch (eventfd) before any
 * call it does: the baseline is taken when the body starts, not at the
 * first watched call, so it is the test's leak. */
START_TEST(api_leak_unwatched)
{
	json_object *f = exactly(api("fd/leak_unwatched_buggy"), "leak_unwatched_buggy", "p0");
	names_fd(f, "anon_inode:[eventfd])");
	contains(json_str(f, "message"), "still open when p0 (pid ");
	contains(json_str(f, "detail"), "Made by a call mptest does not watch");
	expect_clean(api("fd/leak_unwatched_fixed"), "leak_unwatched_fixed");
	/* No watched call at all, and one above a number free again. */
	f = exactly(api("fd/leak_unwatched_only_buggy"), "leak_unwatched_only_buggy", "p0");
	names_fd(f, "anon_inode:[eventfd])");
	f = exactly(api("fd/leak_unwatched_above_a_gap_buggy"), "leak_unwatched_above_a_gap_buggy",
		    "p0");
	names_fd(f, "anon_inode:[eventfd])");
	expect_clean(api("fd/unwatched_closed_fixed"), "unwatched_closed_fixed");
	int status;
	f = exactly(under_mpt_run("leak-unwatched", &status), "leak-unwatched", "p0");
	names_fd(f, "anon_inode:[eventfd])");
	ck_assert_int_eq(status, 1);
	expect_clean(under_mpt_run("leak-unwatched-fixed", &status), "leak-unwatched-fixed");
	ck_assert_int_eq(status, 0);
}
END_TEST

/* Six leaks one by one, the rest in one: the region holds few records. */
START_TEST(api_many_leaks_fold)
{
	json_object *t = api("fd/many_leaks_buggy");
	ck_assert_str_eq(json_str(t, "status"), "fail");
	ck_assert_int_eq(json_count_kind(t, "fd-leak"), 7);
	ck_assert_int_eq((int)json_object_array_length(findings(t)), 7);
	json_object *last = json_object_array_get_idx(findings(t), 6);
	contains(json_str(last, "message"), "4 more descriptors");
	contains(json_str(last, "message"), "still open when p0 (pid ");
	contains(json_str(last, "message"), ", hyg_fd) exited"); /* the program */
	expect_clean(api("fd/leak_allowed"), "leak_allowed");
}
END_TEST

START_TEST(mpt_run_leak_open)
{
	int st;
	json_object *f = exactly(under_mpt_run("leak-open", &st), "leak-open", "p0");
	names_fd(f, "/dev/null)");
	contains(json_str(f, "message"), "fd)"); /* the program's name */
	contains(json_str(f, "detail"), "Made by open() at ");
	contains(json_str(f, "detail"), "(fd.c:");
	ck_assert_int_eq(st, 1);
	expect_clean(under_mpt_run("leak-open-fixed", &st), "leak-open-fixed");
	ck_assert_int_eq(st, 0);
	f = exactly(under_mpt_run("leak-pipe", &st), "leak-pipe", "p0");
	names_fd(f, "pipe:[");
	contains(json_str(f, "detail"), "Made by pipe() at leak_pipe (fd.c:");
	expect_clean(under_mpt_run("leak-pipe-fixed", &st), "leak-pipe-fixed");
}
END_TEST

/* ---- carried across exec and never used (HAZARDS row 8) ----------------- */

static void carried_pipe(json_object *f, const char *prog)
{
	char who[64];
	snprintf(who, sizeof who, ", %s) got fd ", prog);
	contains(json_str(f, "message"), who);
	names_fd(f, "pipe:[");
	contains(json_str(f, "message"), "write end");
	contains(json_str(f, "message"), "across exec without close-on-exec");
	contains(json_str(f, "detail"), "Made by pipe()");
	contains(json_str(f, "detail"), " in p0 (pid ");
	contains(json_str(f, "detail"), "end-of-file");
}

START_TEST(api_pipe_into_exec)
{
	json_object *f = exactly(api("fd/pipe_into_exec_buggy"), "pipe_into_exec_buggy", "p0.1");
	carried_pipe(f, "sleep");
	/* sleep reports at its exit, while p0 lives: the site is known. */
	contains(json_str(f, "detail"), "at mpt__fn_fd__pipe_into_exec_buggy (hyg_fd.c:");
	expect_clean(api("fd/pipe_into_exec_fixed"), "pipe_into_exec_fixed");
}
END_TEST

START_TEST(api_spawn_into_exec)
{
	/* Valgrind runs glibc's posix_spawn as a fork of its own, past the
	 * shim's spawn bookkeeping: this check is about the shim, not memcheck
	 * (the same holds in check_proc's spawn test). */
	const char *vg = getenv("MPT_SELFTEST_VALGRIND");
	if (vg && *vg && *vg != '0')
		return;
	json_object *f = exactly(api("fd/spawn_into_exec_buggy"), "spawn_into_exec_buggy", "p0.1");
	carried_pipe(f, "sleep");
	/* The read end, closed by the file actions, is not reported. */
	expect_clean(api("fd/spawn_into_exec_fixed"), "spawn_into_exec_fixed");
}
END_TEST

/* Killed before it could report: the runner does, once. */
START_TEST(api_killed_before_use)
{
	json_object *f = exactly(api("fd/killed_before_use_buggy"), "killed_before_use_buggy",
				 "p0.1");
	carried_pipe(f, "fd");
	contains(json_str(f, "message"), "killed by SIGKILL");
}
END_TEST

START_TEST(mpt_run_pipe_into_exec)
{
	int st;
	json_object *f = exactly(under_mpt_run("leak-pipe-into-exec", &st), "leak-pipe-into-exec",
				 "p0.1");
	carried_pipe(f, "sleep");
	contains(json_str(f, "detail"), "at pipe_into_exec (fd.c:");
	ck_assert_int_eq(st, 1);
	expect_clean(under_mpt_run("leak-pipe-into-exec-fixed", &st), "leak-pipe-into-exec-fixed");
	ck_assert_int_eq(st, 0);
	f = exactly(under_mpt_run("leak-into-killed", &st), "leak-into-killed", "p0.1");
	carried_pipe(f, "fd");
	contains(json_str(f, "message"), "killed by SIGKILL");
}
END_TEST

/* ---- precision: correct programs get nothing ------------------------------ */

START_TEST(api_precision)
{
	expect_clean(api("fd/pipeline_dup2"), "pipeline_dup2");
	expect_clean(api("fd/pipeline_dup2_keeps_original"), "pipeline_dup2_keeps_original");
	expect_clean(api("fd/poll_pool"), "poll_pool");
	expect_clean(api("fd/cloexec_is_not_carried"), "cloexec_is_not_carried");
	expect_clean(api("fd/inherited_descriptors_are_the_baseline"),
	      "inherited_descriptors_are_the_baseline");
	expect_clean(api("fd/opened_and_closed"), "opened_and_closed");
}
END_TEST

START_TEST(mpt_run_precision)
{
	int st;
	expect_clean(under_mpt_run("pipeline-dup2", &st), "pipeline-dup2");
	ck_assert_int_eq(st, 0);
	expect_clean(under_mpt_run("poll-pool", &st), "poll-pool");
	ck_assert_int_eq(st, 0);
}
END_TEST

/* Descriptors the runner was handed (here a pipe's write end without
 * close-on-exec, as CI systems leave them) reach every program a test
 * execs; they are the baseline, not the test's. */
START_TEST(outside_descriptors_are_the_baseline)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	int hi = fcntl(p[1], F_DUPFD, 40);
	ck_assert_int_ge(hi, 40);
	int st;
	expect_clean(under_mpt_run("leak-pipe-into-exec-fixed", &st), "leak-pipe-into-exec-fixed");
	expect_clean(under_mpt_run("leak-open-fixed", &st), "leak-open-fixed");
	/* The API program too: every fixed twin and precision test. */
	char *json = path_in(scratch(), "fd-outside.json");
	char *plain = bin("selftests/plain/fd");
	char *env[] = {opt("MPT_SELFTEST_PLAIN_FD", plain), NULL};
	char *argv[] = {bin("selftests/progs/hyg_fd"), opt("--json", json),
			"--filter=fd/*_fixed", "--filter=fd/inherited*", "--filter=fd/poll_pool",
			"--filter=fd/pipeline*", NULL};
	struct run_result r = run_cmd(argv, env, 60);
	json_object *rep = keep(json_load(json));
	ck_assert_msg(rep != NULL, "no report: %s %s", r.out, r.err);
	ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.out);
	expect_clean(json_test(rep, "fd/inherited_descriptors_are_the_baseline"), "inherited");
	expect_clean(json_test(rep, "fd/pipe_into_exec_fixed"), "pipe_into_exec_fixed");
	expect_clean(json_test(rep, "fd/poll_pool"), "poll_pool");
	run_free(&r);
	free(json);
	free(plain);
	free(env[0]);
	free(argv[0]);
	free(argv[1]);
	close(hi);
	close(p[0]);
	close(p[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fd");
	TCase *t = tcase_create("fd");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, api_leak_open);
	tcase_add_test(t, api_leak_pipe);
	tcase_add_test(t, api_leak_unwatched);
	tcase_add_test(t, api_many_leaks_fold);
	tcase_add_test(t, mpt_run_leak_open);
	tcase_add_test(t, api_pipe_into_exec);
	tcase_add_test(t, api_spawn_into_exec);
	tcase_add_test(t, api_killed_before_use);
	tcase_add_test(t, mpt_run_pipe_into_exec);
	tcase_add_test(t, api_precision);
	tcase_add_test(t, mpt_run_precision);
	tcase_add_test(t, outside_descriptors_are_the_baseline);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
