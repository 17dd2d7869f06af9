/* Selftests of the stdio and threads hygiene checks: stdio-duplicate
 * (HAZARDS row 9) and fork-with-threads (row 11). Every buggy case gets
 * exactly its finding, from the child p0.1, through the API and through
 * mpt-run; every fixed twin gets none and passes. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static json_object *api_report;
static struct run_result api_run;

/* The API program runs once; each test reads its verdicts. */
static void run_api(void)
{
	if (api_report)
		return;
	char *json = path_in(scratch(), "stdio.json");
	char *argv[] = {bin("selftests/progs/hyg_stdio"), opt("--json", json), NULL};
	api_run = run_cmd(argv, NULL, 60);
	api_report = json_load(json);
	ck_assert_msg(api_report != NULL, "no report: %s %s", api_run.out, api_run.err);
}

static json_object *api(const char *name)
{
	run_api();
	return json_test(api_report, name);
}

/* Exactly one finding, of kind, from process id. */
/* plain/stdio CASE [ARG] under mpt-run; r->out holds the program's output
 * (the human report quotes it for a failed test). */
static json_object *under_mpt_run(const char *which, const char *arg, struct run_result *r)
{
	char *json = path_in(scratch(), which);
	char *argv[] = {bin("mpt-run"), "--verbose", opt("--json", json), "--",
			bin("selftests/plain/stdio"), (char *)which, (char *)arg, NULL};
	*r = run_cmd(argv, NULL, 30);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "%s: no report: %s", which, r->err);
	return json_test(rep, "stdio");
}

static void mpt_run_clean(const char *which)
{
	struct run_result r;
	expect_clean(under_mpt_run(which, NULL, &r), which);
	ck_assert_int_eq(r.status, 0);
}

#define ADVICE_STDIO "(or fflush(NULL)) before fork(), and end children with _exit()."
#define ADVICE_THREADS                                                            \
	"Between fork() and exec in a threaded program call only async-signal-safe " \
	"functions; use posix_spawn, or fork before starting threads."

/* ---- stdio-duplicate ------------------------------------------------------ */

START_TEST(duplicate_at_exit_api)
{
	json_object *f = expect_only(api("stdio/duplicate_at_exit"), "duplicate_at_exit",
				 "stdio-duplicate", "p0.1");
	contains(json_str(f, "message"), "p0.1 (pid ");
	contains(json_str(f, "message"), ", hyg_stdio) wrote again 9 bytes of stdout that its parent p0");
	contains(json_str(f, "message"), "(\"starting\\n\"), at exit()");
	contains(json_str(f, "detail"), "Forked at mpt__fn_stdio__duplicate_at_exit (hyg_stdio.c:");
	contains(json_str(f, "detail"), "fflush(stdout) " ADVICE_STDIO);
	/* The human report says the same. */
	contains(api_run.out, "  stdio-duplicate: p0.1 (pid ");
}
END_TEST

START_TEST(duplicate_in_child_fflush_api)
{
	json_object *f = expect_only(api("stdio/duplicate_fflush_in_child"),
				 "duplicate_fflush_in_child", "stdio-duplicate", "p0.1");
	contains(json_str(f, "message"), "9 bytes of stdout");
	contains(json_str(f, "message"), "in fflush()");
}
END_TEST

START_TEST(duplicate_log_file_api)
{
	/* The test itself counts the record twice in the file (and passes
	 * that assertion): the finding is the only failure. */
	json_object *f = expect_only(api("stdio/duplicate_log_file"), "duplicate_log_file",
				 "stdio-duplicate", "p0.1");
	contains(json_str(f, "message"), " (/tmp/mpt-hyg-stdio-");
	contains(json_str(f, "message"), "(\"record 1\\n\")");
	contains(json_str(f, "detail"), "fflush() this stream " ADVICE_STDIO);
	expect_clean(api("stdio/fixed_log_file"), "fixed_log_file");
}
END_TEST

START_TEST(stdio_fixed_twins_api)
{
	expect_clean(api("stdio/fixed_fflush_before_fork"), "fixed_fflush_before_fork");
	expect_clean(api("stdio/fixed_child_exits_with__exit"), "fixed_child_exits_with__exit");
	expect_clean(api("stdio/fixed_child_execs"), "fixed_child_execs");
	expect_clean(api("stdio/fixed_child_purges"), "fixed_child_purges");
}
END_TEST

START_TEST(duplicate_mpt_run)
{
	struct run_result r;
	json_object *f = expect_only(under_mpt_run("dup-printf-exit", NULL, &r), "dup-printf-exit",
				 "stdio-duplicate", "p0.1");
	contains(json_str(f, "message"), ", stdio) wrote again 22 bytes of stdout");
	contains(json_str(f, "message"), "(\"hello from the parent\\n\"), at exit()");
	contains(json_str(f, "detail"), "(stdio.c:"); /* the fork call site, with its line */
	ck_assert_int_eq(r.status, 1);
	/* The bug itself, as the program's output (quoted "  | ") shows it. */
	ck_assert_int_eq(count_str(r.out, "| hello from the parent"), 2);

	f = expect_only(under_mpt_run("dup-fflush-child", NULL, &r), "dup-fflush-child",
		    "stdio-duplicate", "p0.1");
	contains(json_str(f, "message"), "in fflush()");

	/* The child's own output fills the buffer, which writes the parent's
	 * bytes along; its _exit() comes too late. */
	f = expect_only(under_mpt_run("dup-overflow", NULL, &r), "dup-overflow",
		    "stdio-duplicate", "p0.1");
	contains(json_str(f, "message"), "when its buffer filled up");
}
END_TEST

START_TEST(duplicate_file_mpt_run)
{
	struct run_result r;
	char *log = path_in(scratch(), "dup-file.log");
	json_object *f = expect_only(under_mpt_run("dup-file", log, &r), "dup-file",
				 "stdio-duplicate", "p0.1");
	contains(json_str(f, "message"), log);
	contains(json_str(f, "message"), "(\"record 1\\n\")");
	FILE *in = fopen(log, "r");
	ck_assert_ptr_nonnull(in);
	char text[256] = "";
	size_t n = fread(text, 1, sizeof text - 1, in);
	text[n] = 0;
	fclose(in);
	ck_assert_str_eq(text, "record 1\nrecord 1\n");
	unlink(log);
}
END_TEST

START_TEST(stdio_fixed_twins_mpt_run)
{
	struct run_result r;
	expect_clean(under_mpt_run("fixed-fflush", NULL, &r), "fixed-fflush");
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(count_str(r.out, "| hello from the parent"), 1);
	ck_assert_int_eq(count_str(r.out, "| hello from the child"), 1);
	expect_clean(under_mpt_run("fixed-_exit", NULL, &r), "fixed-_exit");
	ck_assert_int_eq(count_str(r.out, "| hello from the parent"), 1);
	mpt_run_clean("fixed-exec");
	mpt_run_clean("fixed-fpurge");
	expect_clean(under_mpt_run("fixed-redirected", NULL, &r), "fixed-redirected");
	ck_assert_int_eq(count_str(r.out, "| hello from the parent"), 1);
}
END_TEST

/* ---- fork-with-threads ---------------------------------------------------- */

static int under_valgrind(void);

START_TEST(threads_api)
{
	json_object *f = expect_only(api("threads/printf_in_child"), "printf_in_child",
				 "fork-with-threads", "p0.1");
	contains(json_str(f, "message"), "p0.1 (pid ");
	/* "printf() after": ASan's printf interceptor makes it vprintf(). */
	contains(json_str(f, "message"), "printf() after fork() in a process with 2 threads");
	contains(json_str(f, "message"), ", hyg_stdio) called "); /* the program */
#ifndef __SANITIZE_ADDRESS__ /* there the caller is ASan's printf interceptor */
	contains(json_str(f, "message"), "from mpt__fn_threads__printf_in_child (hyg_stdio.c:");
#endif
	contains(json_str(f, "detail"), "Forked at mpt__fn_threads__printf_in_child (hyg_stdio.c:");
	contains(json_str(f, "detail"), ADVICE_THREADS);
	/* Under MPT_SELFTEST_VALGRIND the whole program runs under memcheck,
	 * which replaces the shim's malloc with its own: that half steps aside. */
	if (under_valgrind())
		return;
#ifdef __SANITIZE_ADDRESS__
	return; /* the ASan build leaves the allocator to the sanitizer */
#endif
	f = expect_only(api("threads/malloc_in_child"), "malloc_in_child", "fork-with-threads",
		    "p0.1");
	contains(json_str(f, "message"), "called malloc()");
	contains(json_str(f, "message"), "from mpt__fn_threads__malloc_in_child (hyg_stdio.c:");
}
END_TEST

START_TEST(threads_fixed_twins_api)
{
	expect_clean(api("threads/fixed_fork_then_exec"), "fixed_fork_then_exec");
	expect_clean(api("threads/fixed_fork_then__exit"), "fixed_fork_then__exit");
	expect_clean(api("threads/single_threaded_child_mallocs"), "single_threaded_child_mallocs");
	expect_clean(api("threads/joined_before_fork_child_mallocs"),
	      "joined_before_fork_child_mallocs");
}
END_TEST

START_TEST(threads_mpt_run)
{
	struct run_result r;
	json_object *f;
#ifndef __SANITIZE_ADDRESS__ /* the allocator half is off under ASan */
	f = expect_only(under_mpt_run("threads-malloc-in-child", NULL, &r),
		    "threads-malloc-in-child", "fork-with-threads", "p0.1");
	contains(json_str(f, "message"), "called malloc()");
	contains(json_str(f, "message"), "(stdio.c:");
	contains(json_str(f, "detail"), ADVICE_THREADS);
	ck_assert_int_eq(r.status, 1);
#endif
	f = expect_only(under_mpt_run("threads-printf-in-child", NULL, &r),
		    "threads-printf-in-child", "fork-with-threads", "p0.1");
	contains(json_str(f, "message"), "called printf()");
	f = expect_only(under_mpt_run("threads-exit-in-child", NULL, &r), "threads-exit-in-child",
		    "fork-with-threads", "p0.1");
	contains(json_str(f, "message"), "called exit()");
}
END_TEST

START_TEST(threads_fixed_twins_mpt_run)
{
	mpt_run_clean("threads-exec");
	mpt_run_clean("threads-_exit");
	mpt_run_clean("threads-joined-malloc");
	mpt_run_clean("single-malloc");
}
END_TEST

/* A private mutex locked in the child: the classic. The report names the
 * lock call and where the child made it; a lock in a child of a
 * single-threaded process, or of a process-shared mutex, is not one. */
START_TEST(threads_mutex_api)
{
	json_object *f = expect_only(api("threads/mutex_in_child"), "mutex_in_child",
				 "fork-with-threads", "p0.1");
	contains(json_str(f, "message"), "p0.1 (pid ");
	contains(json_str(f, "message"), ", hyg_stdio) called pthread_mutex_lock() after fork() "
		 "in a process with 2 threads");
	contains(json_str(f, "message"), "from mpt__fn_threads__mutex_in_child (hyg_stdio.c:");
	contains(json_str(f, "detail"), "the lock it takes may have been held by another thread");
	contains(json_str(f, "detail"), ADVICE_THREADS);
	expect_clean(api("threads/single_threaded_child_locks"), "single_threaded_child_locks");
	expect_clean(api("threads/shared_mutex_in_child"), "shared_mutex_in_child");
}
END_TEST

START_TEST(threads_mutex_mpt_run)
{
	struct run_result r;
	json_object *f = expect_only(under_mpt_run("threads-mutex-in-child", NULL, &r),
				 "threads-mutex-in-child", "fork-with-threads", "p0.1");
	contains(json_str(f, "message"), ", stdio) called pthread_mutex_lock()");
	contains(json_str(f, "message"), "from child_mutex (stdio.c:");
	ck_assert_int_eq(r.status, 1);
	f = expect_only(under_mpt_run("threads-trylock-in-child", NULL, &r),
		    "threads-trylock-in-child", "fork-with-threads", "p0.1");
	contains(json_str(f, "message"), "called pthread_mutex_trylock()");
	mpt_run_clean("threads-joined-mutex");
	mpt_run_clean("single-mutex");
}
END_TEST

/* An allocation libc makes inside setenv() before the child execs: the
 * exec must not drop it (the report is made on the way into exec, and
 * the region keeps it across). Building the environment before fork and
 * passing it to execle() is the fix. */
START_TEST(threads_unsafe_then_exec)
{
	/* The ASan build leaves the allocator to the sanitizer. */
#ifdef __SANITIZE_ADDRESS__
	return;
#endif
	json_object *f;
	expect_clean(api("threads/fixed_env_built_before_fork"), "fixed_env_built_before_fork");
	/* memcheck replaces the allocator in the API program it runs (the
	 * program mpt-run execs runs without it). */
	if (!under_valgrind()) {
		f = expect_only(api("threads/setenv_then_exec"), "setenv_then_exec",
				"fork-with-threads", "p0.1");
		contains(json_str(f, "message"), "alloc() after fork() in a process with 2 threads");
		contains(json_str(f, "detail"),
			 "Forked at mpt__fn_threads__setenv_then_exec (hyg_stdio.c:");
		contains(json_str(f, "detail"), "the child exec'd afterwards: too late");
	}
	struct run_result r;
	f = expect_only(under_mpt_run("threads-setenv-exec", NULL, &r), "threads-setenv-exec",
			"fork-with-threads", "p0.1");
	contains(json_str(f, "message"), "alloc() after fork() in a process with 2 threads");
	contains(json_str(f, "detail"), "the child exec'd afterwards: too late");
	ck_assert_int_eq(r.status, 1);
	mpt_run_clean("threads-execle");
}
END_TEST

/* ---- under Valgrind --------------------------------------------------------
 * memcheck replaces the shim's malloc and free with its own (so the
 * allocator half of fork-with-threads steps aside there); everything else
 * still works, and memcheck has nothing to say about the wrappers. */

static int under_valgrind(void)
{
	const char *v = getenv("MPT_SELFTEST_VALGRIND");
	return v && *v && *v != '0';
}

static json_object *vg_run(const char *which, struct run_result *r)
{
	char *json = path_in(scratch(), which);
	char *argv[] = {bin("mpt-run"), "--valgrind", opt("--json", json), "--",
			bin("selftests/plain/stdio"), (char *)which, NULL};
	*r = run_cmd(argv, NULL, 120);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "%s: no report: %s", which, r->err);
	return json_test(rep, "stdio");
}

START_TEST(under_valgrind_mpt_run)
{
	if (!under_valgrind())
		return;
	struct run_result r;
	expect_only(vg_run("dup-printf-exit", &r), "dup-printf-exit (valgrind)", "stdio-duplicate",
		"p0.1");
	json_object *f = expect_only(vg_run("threads-printf-in-child", &r),
				 "threads-printf-in-child (valgrind)", "fork-with-threads", "p0.1");
	contains(json_str(f, "message"), "called printf()");
	expect_clean(vg_run("threads-_exit", &r), "threads-_exit (valgrind)");
	expect_clean(vg_run("single-malloc", &r), "single-malloc (valgrind)");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stdio");
	TCase *t = tcase_create("stdio");
	tcase_set_timeout(t, 300);
	tcase_add_test(t, duplicate_at_exit_api);
	tcase_add_test(t, duplicate_in_child_fflush_api);
	tcase_add_test(t, duplicate_log_file_api);
	tcase_add_test(t, stdio_fixed_twins_api);
	tcase_add_test(t, duplicate_mpt_run);
	tcase_add_test(t, duplicate_file_mpt_run);
	tcase_add_test(t, stdio_fixed_twins_mpt_run);
	tcase_add_test(t, threads_api);
	tcase_add_test(t, threads_fixed_twins_api);
	tcase_add_test(t, threads_mpt_run);
	tcase_add_test(t, threads_fixed_twins_mpt_run);
	tcase_add_test(t, threads_mutex_api);
	tcase_add_test(t, threads_mutex_mpt_run);
	tcase_add_test(t, threads_unsafe_then_exec);
	tcase_add_test(t, under_valgrind_mpt_run);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
