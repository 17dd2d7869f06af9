/* Selftests of the lock hygiene checks (lock-held; HAZARDS rows 3 and 6).
 * Every buggy case gets exactly its finding, naming the holder's logical
 * id, the lock and where it was taken, through the API and through
 * mpt-run; every fixed twin and precision case gets none. */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static json_object *api_report;
static struct run_result api_run;

/* The API program runs once per test process; each test reads its verdicts. */
static json_object *api(const char *name)
{
	if (!api_report) {
		char *json = path_in(scratch(), "lock.json");
		char *argv[] = {bin("selftests/progs/hyg_lock"), opt("--json", json), NULL};
		api_run = run_cmd(argv, NULL, 60);
		api_report = json_load(json);
		ck_assert_msg(api_report != NULL, "no report: %s %s", api_run.out, api_run.err);
	}
	return json_test(api_report, name);
}

/* One mpt-run of plain/lock CASE, with an extra option (or NULL). */
static json_object *under_mpt_run(const char *which, const char *extra, struct run_result *r)
{
	char *json = path_in(scratch(), which);
	char *argv[] = {bin("mpt-run"), opt("--json", json), extra ? (char *)extra : "--quiet",
			"--", bin("selftests/plain/lock"), (char *)which, NULL};
	*r = run_cmd(argv, NULL, 30);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "%s: no report: %s", which, r->err);
	return json_test(rep, "lock");
}

/* Exactly one finding, lock-held, from the process with logical id id. */
static json_object *exactly(json_object *t, const char *name, const char *id)
{
	json_object *f = expect_only(t, name, "lock-held", id);
	ck_assert_int_gt(json_int(f, "pid"), 1);
	return f;
}

/* ---- through the API ---------------------------------------------------------- */

START_TEST(mutex_held_at_exit_api)
{
	json_object *f = exactly(api("lock/mutex_exit_buggy"), "mutex_exit_buggy", "p0.1");
	contains(json_str(f, "message"), "p0.1 (pid ");
	contains(json_str(f, "message"), ", hyg_lock) exited while holding process-shared mutex 0x");
	/* The holder names its own call site, with file and line. */
	contains(json_str(f, "detail"), "Locked at mpt__fn_lock__mutex_exit_buggy (hyg_lock.c:");
	contains(json_str(f, "detail"), "Unlock it on every path");
	expect_clean(api("lock/mutex_exit_fixed"), "mutex_exit_fixed");
	/* The human report shows it under the failed test. */
	contains(api_run.out, "  lock-held: p0.1 (pid ");
}
END_TEST

START_TEST(mutex_holder_killed_api)
{
	/* Reported by p0 at its exit: the killed child cannot speak, but
	 * p0 shares its program and can name where it locked. */
	json_object *f = exactly(api("lock/mutex_killed_buggy"), "mutex_killed_buggy", "p0.1");
	contains(json_str(f, "message"), "was killed by SIGKILL while holding process-shared mutex 0x");
	contains(json_str(f, "detail"), "Locked at lock_it (hyg_lock.c:");
	contains(json_str(f, "detail"), "robust");
	/* The fix: a robust mutex, recovered with pthread_mutex_consistent(). */
	expect_clean(api("lock/mutex_killed_fixed"), "mutex_killed_fixed");
	/* Killed while waiting on a condition: the wait had released it. */
	expect_clean(api("lock/cond_waiter_killed_clean"), "cond_waiter_killed_clean");
}
END_TEST

START_TEST(robust_mutex_not_recovered_api)
{
	json_object *f = exactly(api("lock/robust_unrecovered_buggy"), "robust_unrecovered_buggy",
				 "p0.1");
	contains(json_str(f, "message"), "was killed by SIGKILL while holding process-shared "
		 "robust mutex 0x");
	contains(json_str(f, "detail"), "without calling pthread_mutex_consistent()");
	contains(json_str(f, "detail"), "ENOTRECOVERABLE");
}
END_TEST

START_TEST(mutex_held_at_end_api)
{
	json_object *f = exactly(api("lock/mutex_held_at_end"), "mutex_held_at_end", "p0.1");
	contains(json_str(f, "message"), "still held process-shared mutex 0x");
	contains(json_str(f, "message"), "at the end of the test");
	contains(json_str(f, "detail"), "Locked at lock_it (hyg_lock.c:");
}
END_TEST

START_TEST(semaphores_api)
{
	json_object *f = exactly(api("lock/sem_exit_buggy"), "sem_exit_buggy", "p0.1");
	contains(json_str(f, "message"), "exited (status 1) while holding 1 unit of process-shared "
		 "semaphore 0x");
	contains(json_str(f, "message"), "(its value is now 0)");
	contains(json_str(f, "detail"), "Taken at mpt__fn_lock__sem_exit_buggy (hyg_lock.c:");
	expect_clean(api("lock/sem_exit_fixed"), "sem_exit_fixed");
	f = exactly(api("lock/sem_killed_buggy"), "sem_killed_buggy", "p0.1");
	contains(json_str(f, "message"), "was killed by SIGKILL while holding 1 unit");
	contains(json_str(f, "detail"), "Taken at take_unit (hyg_lock.c:");
	/* A consumer keeps the units it takes: that is not a lock. */
	expect_clean(api("lock/producer_consumer_clean"), "producer_consumer_clean");
}
END_TEST

START_TEST(flock_api)
{
	json_object *f = exactly(api("lock/flock_buggy"), "flock_buggy", "p0.1");
	contains(json_str(f, "message"), "still held flock(LOCK_EX) on /tmp/mpt-hyg-lock-");
	contains(json_str(f, "message"), "at the end of the test");
	contains(json_str(f, "detail"), "Locked at flock_it (hyg_lock.c:");
	expect_clean(api("lock/flock_fixed"), "flock_fixed");
}
END_TEST

START_TEST(private_locks_are_not_tracked)
{
	expect_clean(api("lock/threads_private_clean"), "threads_private_clean");
}
END_TEST

/* ---- through mpt-run: an unmodified program, the shim preloaded ---------- */

START_TEST(mutex_mpt_run)
{
	struct run_result r;
	json_object *f = exactly(under_mpt_run("mutex-exit", NULL, &r), "mutex-exit", "p0.1");
	contains(json_str(f, "message"), ", lock) exited while holding process-shared mutex 0x");
	contains(json_str(f, "detail"), "Locked at mutex_exit (lock.c:");
	ck_assert_int_eq(r.status, 1);
	expect_clean(under_mpt_run("mutex-exit-fixed", NULL, &r), "mutex-exit-fixed");
	ck_assert_int_eq(r.status, 0);

	f = exactly(under_mpt_run("mutex-killed", NULL, &r), "mutex-killed", "p0.1");
	contains(json_str(f, "message"), "was killed by SIGKILL while holding process-shared mutex 0x");
	contains(json_str(f, "detail"), "Locked at lock_it (lock.c:");
	expect_clean(under_mpt_run("mutex-killed-fixed", NULL, &r), "mutex-killed-fixed");
	ck_assert_int_eq(r.status, 0);
}
END_TEST

/* sem_wait and friends have two versions in glibc 2.34+ (GLIBC_2.2.5 and
 * the default GLIBC_2.34): the program links the default one, and the shim
 * must both interpose it and call it. */
START_TEST(semaphores_mpt_run)
{
	struct run_result r;
	json_object *f = exactly(under_mpt_run("sem-exit", NULL, &r), "sem-exit", "p0.1");
	contains(json_str(f, "message"), "while holding 1 unit of process-shared semaphore 0x");
	contains(json_str(f, "detail"), "Taken at sem_exit (lock.c:");
	expect_clean(under_mpt_run("sem-exit-fixed", NULL, &r), "sem-exit-fixed");
	expect_clean(under_mpt_run("prodcons", NULL, &r), "prodcons");
	ck_assert_int_eq(r.status, 0);
}
END_TEST

/* The shim finds libc's functions with dlsym(), which must give the default
 * version of a versioned name: for pthread_cond_wait the old GLIBC_2.2.5
 * one is a different implementation with another condvar layout. */
START_TEST(dlsym_gives_the_default_versions)
{
#ifdef __SANITIZE_ADDRESS__
	return; /* ASan interposes sem_* itself: RTLD_NEXT finds its copies */
#endif
	static const struct {
		const char *name, *version;
	} names[] = {{"sem_wait", "GLIBC_2.34"}, {"sem_trywait", "GLIBC_2.34"},
		     {"sem_timedwait", "GLIBC_2.34"}, {"sem_post", "GLIBC_2.34"},
		     {"sem_init", "GLIBC_2.34"}, {"sem_clockwait", "GLIBC_2.34"},
		     {"pthread_cond_wait", "GLIBC_2.3.2"},
		     {"pthread_cond_timedwait", "GLIBC_2.3.2"}};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		void *plain = dlsym(RTLD_DEFAULT, names[i].name);
		void *deflt = dlvsym(RTLD_DEFAULT, names[i].name, names[i].version);
		ck_assert_msg(plain != NULL, "%s missing", names[i].name);
		if (deflt) /* this glibc has that version */
			ck_assert_msg(plain == deflt, "dlsym(%s) is not %s@@%s", names[i].name,
				      names[i].name, names[i].version);
	}
}
END_TEST

START_TEST(file_locks_mpt_run)
{
	struct run_result r;
	json_object *f = exactly(under_mpt_run("flock", "--allow=leaked-process", &r), "flock",
				 "p0.1");
	contains(json_str(f, "message"), "still held flock(LOCK_EX) on /tmp/mpt-plain-lock-");
	contains(json_str(f, "detail"), "Locked at flock_it (lock.c:");
	expect_clean(under_mpt_run("flock-fixed", NULL, &r), "flock-fixed");

	f = exactly(under_mpt_run("lockf", "--allow=leaked-process", &r), "lockf", "p0.1");
	contains(json_str(f, "message"), "still held an fcntl()/lockf() write lock (bytes 0-EOF) on "
		 "/tmp/mpt-plain-lock-");
	contains(json_str(f, "detail"), "Locked at lockf_it (lock.c:");
	/* fcntl() locks: no call site (fcntl is fd.c's), the rest from /proc. */
	f = exactly(under_mpt_run("fcntl", "--allow=leaked-process", &r), "fcntl", "p0.1");
	contains(json_str(f, "message"), "still held an fcntl()/lockf() read lock (bytes 0-9)");

	/* Without the allowance the holder is a leaked process as well. */
	json_object *t = under_mpt_run("flock", NULL, &r);
	ck_assert_int_eq(json_count_kind(t, "lock-held"), 1);
	ck_assert_int_eq(json_count_kind(t, "leaked-process"), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lock");
	TCase *t = tcase_create("lock");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, mutex_held_at_exit_api);
	tcase_add_test(t, mutex_holder_killed_api);
	tcase_add_test(t, robust_mutex_not_recovered_api);
	tcase_add_test(t, mutex_held_at_end_api);
	tcase_add_test(t, semaphores_api);
	tcase_add_test(t, flock_api);
	tcase_add_test(t, private_locks_are_not_tracked);
	tcase_add_test(t, mutex_mpt_run);
	tcase_add_test(t, semaphores_mpt_run);
	tcase_add_test(t, dlsym_gives_the_default_versions);
	tcase_add_test(t, file_locks_mpt_run);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
