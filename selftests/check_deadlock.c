/* Selftests of the deadlock watchdog: each deadlock of
 * selftests/progs/deadlocks.c must be found as a `deadlock` on the leader,
 * explained, and found long before its (deliberately generous) timeout;
 * each slow-but-moving twin must pass untouched. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Each deadlocking test has .timeout_ms = 20000; a verdict must come well
 * before that (the watchdog aims at ~100 ms; this only rules out that a
 * timeout, or a very late verdict, passes for one). */
#define FOUND_WITHIN_MS 5000.0

static char *prog(const char *name)
{
	char *p;
	if (asprintf(&p, "%s/selftests/progs/%s", builddir(), name) < 0)
		abort();
	return p;
}

static void assert_contains(const char *hay, const char *needle, int line)
{
	ck_assert_msg(hay && strstr(hay, needle), "line %d: expected \"%s\" in:\n%s",
		      line, needle, hay ? hay : "(null)");
}
#define ASSERT_CONTAINS(hay, needle) assert_contains((hay), (needle), __LINE__)

/* The selftests' own programs run under memcheck (MPT_SELFTEST_VALGRIND). */
static int under_valgrind(void)
{
	const char *vg = getenv("MPT_SELFTEST_VALGRIND");
	return vg && *vg && *vg != '0';
}

static double limit_ms(void)
{
	return under_valgrind() ? 4 * FOUND_WITHIN_MS : FOUND_WITHIN_MS;
}

/* Runs one test of the deadlocks program (extra: one more option or NULL;
 * env: extra environment or NULL) and returns its JSON report. */
static json_object *run_one(const char *test, const char *extra, char *const env[],
			    struct run_result *out)
{
	char file[160];
	snprintf(file, sizeof file, "%s.json", test);
	for (char *c = file; *c; c++)
		if (*c == '/')
			*c = '-';
	char *json = path_in(scratch(), file);
	char *argv[] = {prog("deadlocks"), opt("--filter", test), opt("--json", json),
			(char *)extra, NULL};
	*out = run_cmd(argv, env, 60);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "no JSON report; stdout:\n%s\nstderr:\n%s", out->out,
		      out->err);
	return rep;
}

/* The common part of every deadlock verdict: one `deadlock` finding, on
 * the leader, found before the timeout, with the report's sections. */
static json_object *found_deadlock(json_object *rep, const char *name, struct run_result *r)
{
	json_object *t = json_test(rep, name);
	ck_assert_msg(t != NULL, "%s missing from the report", name);
	ck_assert_str_eq(json_str(t, "status"), "fail");
	ck_assert_int_eq(r->status, 1);
	ck_assert_int_eq(json_count_kind(t, "deadlock"), 1);
	ck_assert_int_eq(json_count_kind(t, "timeout"), 0);
	/* Nothing else: taking the stacks must not let a process run on
	 * (a write cut short by the attach, an assertion on its count). */
	json_object *all;
	ck_assert(json_object_object_get_ex(t, "findings", &all));
	ck_assert_msg(json_object_array_length(all) == 1, "%s: findings besides the deadlock: %s",
		      name, json_object_to_json_string(all));
	json_object *f = json_finding(t, "deadlock");
	ck_assert_str_eq(json_str(f, "process"), "p0");
	ck_assert_int_gt(json_int(f, "pid"), 1);
	json_object *d;
	ck_assert(json_object_object_get_ex(t, "duration_ms", &d));
	double ms = json_object_get_double(d);
	ck_assert_msg(ms < limit_ms(), "%s: verdict after %.1f ms (timeout 20000 ms)", name, ms);

	const char *msg = json_str(f, "message");
	ck_assert_msg(msg && !strchr(msg, '\n'), "the message is one line: %s", msg);
	ck_assert_msg(!strncmp(msg, "deadlock: p0 (pid ", 18), "message: %s", msg);
	const char *detail = json_str(f, "detail");
	ck_assert_msg(detail && !strncmp(detail, "This is a deadlock", 18), "detail:\n%s", detail);
	ASSERT_CONTAINS(detail, "\nWait-for graph");
	ASSERT_CONTAINS(detail, "\nWaits:\n");
	ASSERT_CONTAINS(detail, "\nFix: ");
	ASSERT_CONTAINS(detail, "\nStacks");
	/* In that order: verdict, graph, waits, fix, stacks. */
	ck_assert(strstr(detail, "Wait-for graph") < strstr(detail, "\nWaits:"));
	ck_assert(strstr(detail, "\nWaits:") < strstr(detail, "\nFix: "));
	ck_assert(strstr(detail, "\nFix: ") < strstr(detail, "\nStacks"));
	return f;
}

START_TEST(join_before_drain)
{
	struct run_result r;
	json_object *rep = run_one("deadlock/join_before_drain", NULL, NULL, &r);
	json_object *f = found_deadlock(rep, "deadlock/join_before_drain", &r);
	const char *msg = json_str(f, "message"), *detail = json_str(f, "detail");
	ASSERT_CONTAINS(msg, "waits in waitpid() for p0.1, which waits in write() on a full "
			     "pipe only p0 reads");
	ASSERT_CONTAINS(detail, "(join-before-drain)");
	ASSERT_CONTAINS(detail, "p0 (pid ");
	ASSERT_CONTAINS(detail, "└─ p0.1 (pid ");
	ASSERT_CONTAINS(detail, "waitpid(");
	ASSERT_CONTAINS(detail, "write(fd ");
	ASSERT_CONTAINS(detail, "pipe:[");
	ASSERT_CONTAINS(detail, "1000000 bytes");
	ASSERT_CONTAINS(detail, "the pipe holds 65536 of 65536 bytes");
	ASSERT_CONTAINS(detail, "its read end is held only by p0 (fd ");
	/* The fork site, from the region, named in the parent. */
	ASSERT_CONTAINS(detail, "p0.1 (pid ");
	ASSERT_CONTAINS(detail, "was started by p0 at ");
	ASSERT_CONTAINS(detail, "Fix: read the pipe to EOF before you waitpid() the writer.");
	/* The stacks give each frame's file and line: the blocking calls'
	 * own call sites in the test's source. (Under memcheck a stack tool
	 * sees Valgrind's own frames, not the program's.) */
	const char *stacks = strstr(detail, "\nStacks (");
	if (stacks && !under_valgrind())
		ASSERT_CONTAINS(stacks, "deadlocks.c:");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

START_TEST(own_write_end)
{
	struct run_result r;
	json_object *rep = run_one("deadlock/own_write_end", NULL, NULL, &r);
	json_object *f = found_deadlock(rep, "deadlock/own_write_end", &r);
	const char *detail = json_str(f, "detail");
	ASSERT_CONTAINS(json_str(f, "message"), "waits in read() on an empty pipe only itself "
						"writes to");
	ASSERT_CONTAINS(detail, "(reader holds its own write end)");
	ASSERT_CONTAINS(detail, "read(fd ");
	ASSERT_CONTAINS(detail, "pipe:[");
	ASSERT_CONTAINS(detail, "the pipe holds 0 of ");
	ASSERT_CONTAINS(detail, "held only by p0 itself (fd ");
	ASSERT_CONTAINS(detail, "Fix: close your copy of the write end after fork().");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

START_TEST(both_read_first)
{
	struct run_result r;
	json_object *rep = run_one("deadlock/both_read_first", NULL, NULL, &r);
	json_object *f = found_deadlock(rep, "deadlock/both_read_first", &r);
	const char *detail = json_str(f, "detail");
	ASSERT_CONTAINS(json_str(f, "message"), "waits in read() on an empty pipe only p0.1 "
						"writes to, which waits in read() on an "
						"empty pipe only p0 writes to");
	ASSERT_CONTAINS(detail, "(both sides read first)");
	ASSERT_CONTAINS(detail, "back where the cycle started");
	ASSERT_CONTAINS(detail, "Fix: decide which side writes first");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

START_TEST(lock_order)
{
	struct run_result r;
	json_object *rep = run_one("deadlock/lock_order", NULL, NULL, &r);
	json_object *f = found_deadlock(rep, "deadlock/lock_order", &r);
	const char *detail = json_str(f, "detail");
	ASSERT_CONTAINS(json_str(f, "message"), "waits in waitpid() for p0.1");
	ASSERT_CONTAINS(detail, "pthread_mutex_lock(0x");
	ASSERT_CONTAINS(detail, "the mutex is held by p0.2 (pid ");
	ASSERT_CONTAINS(detail, "the mutex is held by p0.1 (pid ");
	ASSERT_CONTAINS(detail, "(lock-order inversion)");
	ASSERT_CONTAINS(detail, "Fix: take the locks in the same order in every process.");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* Locks nothing names an owner for: the whole tree is blocked, so nobody
 * is left to wake any of them. */
START_TEST(futex_lock_order)
{
	struct run_result r;
	json_object *rep = run_one("deadlock/futex_lock_order", NULL, NULL, &r);
	json_object *f = found_deadlock(rep, "deadlock/futex_lock_order", &r);
	const char *detail = json_str(f, "detail");
	ASSERT_CONTAINS(json_str(f, "message"), "waits in waitpid() for p0.1, which waits in "
						"futex() for a wake-up no live process will "
						"send");
	ASSERT_CONTAINS(detail, "3 processes of the test are blocked");
	ASSERT_CONTAINS(detail, "p0.1 (pid ");
	ASSERT_CONTAINS(detail, "p0.2 (pid ");
	ASSERT_CONTAINS(detail, "futex(0x");
	ASSERT_CONTAINS(detail, "FUTEX_WAIT");
	ASSERT_CONTAINS(detail, "(futex waits no live process will wake)");
	ASSERT_CONTAINS(detail, "take them in the same order in every process");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

START_TEST(sem_never_posted)
{
	struct run_result r;
	json_object *rep = run_one("deadlock/sem_never_posted", NULL, NULL, &r);
	json_object *f = found_deadlock(rep, "deadlock/sem_never_posted", &r);
	const char *detail = json_str(f, "detail");
	ASSERT_CONTAINS(json_str(f, "message"), "waits in waitpid() for p0.2, which waits in "
						"sem_wait() on a semaphore no live process "
						"will post");
	ASSERT_CONTAINS(detail, "sem_wait(0x");
	ASSERT_CONTAINS(detail, "nobody is left to sem_post() it");
	ASSERT_CONTAINS(detail, "Fix: make sure a live process posts");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

START_TEST(flock_holder_sleeps)
{
	struct run_result r;
	json_object *rep = run_one("deadlock/flock_holder_sleeps", NULL, NULL, &r);
	json_object *f = found_deadlock(rep, "deadlock/flock_holder_sleeps", &r);
	const char *detail = json_str(f, "detail");
	ASSERT_CONTAINS(json_str(f, "message"), "waits in flock() for a lock p0.1 holds, which "
						"waits in pause()");
	ASSERT_CONTAINS(detail, "flock(fd ");
	ASSERT_CONTAINS(detail, "LOCK_EX");
	ASSERT_CONTAINS(detail, "the lock is held by p0.1 (pid ");
	ASSERT_CONTAINS(detail, "from /proc/locks");
	ASSERT_CONTAINS(detail, "(file lock held by a waiting process)");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* HAZARDS.md, row 8 in a pool: each worker reads a pipe it and the other
 * workers could write. Named for the write ends, not as a ring. */
START_TEST(pool_keeps_write_end)
{
	struct run_result r;
	json_object *rep = run_one("deadlock/pool_keeps_write_end", NULL, NULL, &r);
	json_object *f = found_deadlock(rep, "deadlock/pool_keeps_write_end", &r);
	const char *detail = json_str(f, "detail");
	ASSERT_CONTAINS(json_str(f, "message"), "waits in waitpid() for p0.1, which waits in "
						"read() on an empty pipe only itself, p0.2 and "
						"p0.3 write to");
	ASSERT_CONTAINS(detail, "(reader holds its own write end)");
	ASSERT_CONTAINS(detail, "4 processes of the test are blocked");
	ASSERT_CONTAINS(detail, "Fix: close your copy of the write end after fork().");
	ck_assert_msg(!strstr(detail, "reads first"), "named as a ring:\n%s", detail);
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* HAZARDS.md, row 11: the child's copy of a private mutex another thread
 * held at fork(). Not a lock-order inversion: nothing the parent does can
 * unlock the child's copy. */
START_TEST(fork_while_thread_holds_lock)
{
	struct run_result r;
	json_object *rep = run_one("deadlock/fork_while_thread_holds_lock", NULL, NULL, &r);
	json_object *f = found_deadlock(rep, "deadlock/fork_while_thread_holds_lock", &r);
	const char *detail = json_str(f, "detail");
	ASSERT_CONTAINS(json_str(f, "message"), "which waits in pthread_mutex_lock() for its "
						"copy of a mutex thread ");
	ASSERT_CONTAINS(detail, "(lock held by another thread at fork)");
	ASSERT_CONTAINS(detail, "process-private mutex (FUTEX_PRIVATE_FLAG)");
	ASSERT_CONTAINS(detail, "no thread of the child will ever unlock it");
	ASSERT_CONTAINS(detail, "Fix: in a threaded program call only async-signal-safe "
				"functions between fork() and exec()");
	ck_assert_msg(!strstr(detail, "lock-order"), "named as an inversion:\n%s", detail);
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* Forty workers on one pipe: each process once in the tree, the workers
 * that wait alike grouped, in the tree, the waits and the call sites. */
START_TEST(many_workers_grouped)
{
	struct run_result r;
	json_object *rep = run_one("deadlock/many_workers_keep_write_end", NULL, NULL, &r);
	json_object *f = found_deadlock(rep, "deadlock/many_workers_keep_write_end", &r);
	const char *detail = json_str(f, "detail");
	ASSERT_CONTAINS(json_str(f, "message"), "waits in waitpid() for p0.1, which waits in "
						"read() on an empty pipe only p0, itself, p0.2, "
						"p0.3, p0.4, p0.5 and 35 more write to");
	ASSERT_CONTAINS(detail, "(reader holds its own write end)");
	ASSERT_CONTAINS(detail, "41 processes of the test are blocked");
	/* p0 waits for p0.1, which waits for the writers: p0 (the cycle),
	 * p0.2 in full, and the 38 others like it in one line. */
	ASSERT_CONTAINS(detail, "├─ p0 (pid ");
	ASSERT_CONTAINS(detail, "): back where the cycle started\n");
	ASSERT_CONTAINS(detail, "└─ and 40 processes shown elsewhere in this tree (p0, p0.1, "
				"p0.3, ");
	ASSERT_CONTAINS(detail, "└─ p0.3 … p0.40 (38 processes, pids ");
	ASSERT_CONTAINS(detail, "): wait as p0.2 does\n");
	ASSERT_CONTAINS(detail, "and 35 more processes, stuck as well\n");
	ASSERT_CONTAINS(detail, "  p0.2 … p0.40 (39 processes, pids ");
	ASSERT_CONTAINS(detail, "): each waits in read(fd ");
	ASSERT_CONTAINS(detail, "  p0.2 … p0.40 (39 processes) were started there as well\n");
	/* p0.7 is named nowhere before the stacks. */
	const char *stacks = strstr(detail, "\nStacks");
	const char *p7 = strstr(detail, "p0.7 ");
	ck_assert_msg(!p7 || p7 > stacks, "p0.7 named on its own:\n%s", detail);
	ck_assert_msg(stacks - detail < 6000, "%d bytes before the stacks:\n%s",
		      (int)(stacks - detail), detail);
	json_object_put(rep);
	run_free(&r);
}
END_TEST

START_TEST(fcntl_holder_sleeps)
{
	struct run_result r;
	json_object *rep = run_one("deadlock/fcntl_holder_sleeps", NULL, NULL, &r);
	json_object *f = found_deadlock(rep, "deadlock/fcntl_holder_sleeps", &r);
	const char *detail = json_str(f, "detail");
	ASSERT_CONTAINS(json_str(f, "message"), "waits in fcntl(F_SETLKW) for a lock p0.1 "
						"holds, which waits in pause()");
	ASSERT_CONTAINS(detail, "fcntl(fd ");
	ASSERT_CONTAINS(detail, "F_SETLKW");
	ASSERT_CONTAINS(detail, "the lock is held by p0.1 (pid ");
	ASSERT_CONTAINS(detail, "(file lock held by a waiting process)");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* The slow-but-moving twins: blocked for seconds, never stuck. */
START_TEST(slow_tests_pass)
{
	/* Each the twin of a deadlock: the waker moves on late, or the wait
	 * has a timeout, or a signal (from another process, or a timer with
	 * its default action) ends it. */
	static const char *const names[] = {
		"slow/child_sleeps_then_writes", "slow/long_computation",
		"slow/drain_before_join",        "slow/alarm_ends_the_read",
		"slow/self_pipe_signal",         "slow/alarm_ends_the_child",
		"slow/mutex_released_late",      "slow/sem_posted_late",
		"slow/flock_released_late",      "slow/fcntl_released_late",
		"slow/one_side_writes_late",     "slow/poll_with_timeout"};
	size_t n = sizeof names / sizeof *names;
	char *json = path_in(scratch(), "slow.json");
	char *argv[4 + sizeof names / sizeof *names + 1] = {prog("deadlocks"), "-j", "4",
							    opt("--json", json)};
	for (size_t i = 0; i < n; i++)
		argv[4 + i] = opt("--filter", names[i]);
	struct run_result r = run_cmd(argv, NULL, 120);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "no JSON report; stdout:\n%s\nstderr:\n%s", r.out, r.err);
	ck_assert_msg(r.status == 0, "status %d; stdout:\n%s", r.status, r.out);
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_test(rep, names[i]);
		ck_assert_msg(t != NULL, "%s missing from the report", names[i]);
		ck_assert_msg(!strcmp(json_str(t, "status"), "pass"), "%s: %s\n%s", names[i],
			      json_str(t, "status"), r.out);
		ck_assert_int_eq(json_count_kind(t, "deadlock"), 0);
	}
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* The waker outside the tree: this process's child holds a mutex in
 * shm_open() memory for a second and a half, then, a second later, posts a
 * named semaphore; the test in the tree waits for both. Neither wait is a
 * deadlock, though nobody in the tree could end it. */
START_TEST(waker_outside_the_tree)
{
	char name[64], sname[80], shm_env[96];
	snprintf(name, sizeof name, "/mpt-selftest-%d", (int)getpid());
	snprintf(sname, sizeof sname, "%s-sem", name);
	snprintf(shm_env, sizeof shm_env, "MPT_SELFTEST_SHM=%s", name);
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert(fd >= 0);
	ck_assert(ftruncate(fd, sizeof(pthread_mutex_t)) == 0);
	pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert(m != MAP_FAILED);
	close(fd);
	pthread_mutexattr_t at;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(m, &at);
	sem_t *sem = sem_open(sname, O_CREAT | O_EXCL, 0600, 0);
	ck_assert(sem != SEM_FAILED);
	int ready[2];
	ck_assert(pipe(ready) == 0);
	pid_t waker = fork();
	ck_assert(waker >= 0);
	if (waker == 0) {
		pthread_mutex_lock(m);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		usleep(1500000);
		pthread_mutex_unlock(m);
		usleep(1000000);
		sem_post(sem);
		usleep(500000);
		_exit(0);
	}
	char c;
	ck_assert(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	close(ready[1]);
	char *json = path_in(scratch(), "outside.json");
	char *argv[] = {prog("deadlocks"), opt("--filter", "outside/waker_outside_the_tree"),
			opt("--json", json), NULL};
	char *env[] = {shm_env, NULL};
	struct run_result r = run_cmd(argv, env, 60);
	int st;
	waitpid(waker, &st, 0);
	shm_unlink(name);
	sem_unlink(sname);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "no JSON report; stdout:\n%s\nstderr:\n%s", r.out, r.err);
	json_object *t = json_test(rep, "outside/waker_outside_the_tree");
	ck_assert(t != NULL);
	ck_assert_int_eq(json_count_kind(t, "deadlock"), 0);
	ck_assert_msg(!strcmp(json_str(t, "status"), "pass"), "status %s\n%s", json_str(t, "status"),
		      r.out);
	ck_assert_int_eq(r.status, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	json_object_put(rep);
	run_free(&r);
}
END_TEST

START_TEST(graph_file)
{
	char *dot = path_in(scratch(), "deadlock.dot");
	struct run_result r;
	json_object *rep = run_one("deadlock/join_before_drain", opt("--graph", dot), NULL, &r);
	found_deadlock(rep, "deadlock/join_before_drain", &r);
	FILE *f = fopen(dot, "r");
	ck_assert_msg(f != NULL, "--graph did not write %s", dot);
	char buf[1 << 14];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	ASSERT_CONTAINS(buf, "digraph");
	ASSERT_CONTAINS(buf, "->");
	ASSERT_CONTAINS(buf, "waitpid(");
	ASSERT_CONTAINS(buf, "pipe:[");
	ck_assert_msg(buf[n - 2] == '}', "the graph ends with a closing brace:\n%s", buf);
	/* Graphviz itself reads it (dev.sh installs graphviz). */
	char *svg = path_in(scratch(), "deadlock.svg");
	char *dotv[] = {"dot", "-Tsvg", "-o", svg, dot, NULL};
	struct run_result g = run_cmd(dotv, NULL, 60);
	if (g.status == 127 || (g.status != 0 && strstr(g.err, "No such file")))
		fprintf(stderr, "graph_file: dot (graphviz) is not installed: DOT not parsed\n");
	else
		ck_assert_msg(g.status == 0 && !g.err[0], "dot -Tsvg: status %d\n%s\n%s", g.status,
			      g.err, buf);
	run_free(&g);
	json_object_put(rep);
	run_free(&r);

	/* A run with no deadlock leaves no graph, not an earlier run's. */
	f = fopen(dot, "w");
	ck_assert(f != NULL);
	fputs("old\n", f);
	fclose(f);
	rep = run_one("slow/poll_with_timeout", opt("--graph", dot), NULL, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(access(dot, F_OK) != 0, "--graph left %s from an earlier run", dot);
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* A directory for PATH with nothing in it but valgrind (when the
 * selftests run under it): no eu-stack, no gdb. */
static char *bare_path(void)
{
	char *dir = path_in(scratch(), "bare-bin");
	mkdir(dir, 0755);
	const char *path = getenv("PATH");
	while (path && *path) {
		size_t len = strcspn(path, ":");
		char *vg;
		if (asprintf(&vg, "%.*s/valgrind", (int)len, path) < 0)
			abort();
		if (len && access(vg, X_OK) == 0) {
			/* A script, not a link: valgrind may itself be a
			 * script that runs "$0.bin". */
			char *wrapper = path_in(dir, "valgrind");
			FILE *f = fopen(wrapper, "w");
			ck_assert(f != NULL);
			fprintf(f, "#!/bin/sh\nexec '%s' \"$@\"\n", vg);
			fclose(f);
			chmod(wrapper, 0755);
			free(wrapper);
			free(vg);
			break;
		}
		free(vg);
		path += len + (path[len] == ':');
	}
	return opt("PATH", dir);
}

/* Without eu-stack and gdb the report says so in one line. */
START_TEST(no_stack_tools)
{
	char *env[] = {bare_path(), NULL};
	struct run_result r;
	json_object *rep = run_one("deadlock/own_write_end", NULL, env, &r);
	json_object *f = found_deadlock(rep, "deadlock/own_write_end", &r);
	ASSERT_CONTAINS(json_str(f, "detail"),
			"\nStacks: not taken: neither eu-stack (elfutils) nor gdb is installed.\n");
	json_object_put(rep);
	run_free(&r);
}
END_TEST

/* An unmodified program under mpt-run: a shell reading a named pipe it
 * opened read-write, so it is the pipe's only writer. */
START_TEST(mpt_run_plain_program)
{
	char *json = path_in(scratch(), "fifo.json");
	char *argv[] = {path_in(builddir(), "mpt-run"), opt("--json", json), "--timeout=20s",
			"--", "/bin/sh", "-c",
			"p=$(mktemp -u); mkfifo \"$p\" || exit 9; exec 3<>\"$p\"; rm \"$p\"; "
			"read x <&3",
			NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	json_object *rep = json_load(json);
	ck_assert_msg(rep != NULL, "no JSON report; stdout:\n%s\nstderr:\n%s", r.out, r.err);
	ck_assert_int_eq(r.status, 1);
	json_object *tests;
	ck_assert(json_object_object_get_ex(rep, "tests", &tests));
	json_object *t = json_object_array_get_idx(tests, 0);
	ck_assert(t != NULL);
	ck_assert_int_eq(json_count_kind(t, "deadlock"), 1);
	json_object *f = json_finding(t, "deadlock");
	ck_assert_str_eq(json_str(f, "process"), "p0");
	ASSERT_CONTAINS(json_str(f, "message"), "waits in read() on an empty pipe only itself");
	ASSERT_CONTAINS(json_str(f, "detail"), "open the named pipe O_RDONLY");
	json_object *d;
	ck_assert(json_object_object_get_ex(t, "duration_ms", &d));
	ck_assert(json_object_get_double(d) < limit_ms());
	json_object_put(rep);
	run_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("deadlock");
	TCase *t = tcase_create("deadlock");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, join_before_drain);
	tcase_add_test(t, own_write_end);
	tcase_add_test(t, both_read_first);
	tcase_add_test(t, lock_order);
	tcase_add_test(t, futex_lock_order);
	tcase_add_test(t, sem_never_posted);
	tcase_add_test(t, flock_holder_sleeps);
	tcase_add_test(t, pool_keeps_write_end);
	tcase_add_test(t, fork_while_thread_holds_lock);
	tcase_add_test(t, fcntl_holder_sleeps);
	tcase_add_test(t, many_workers_grouped);
	tcase_add_test(t, slow_tests_pass);
	tcase_add_test(t, waker_outside_the_tree);
	tcase_add_test(t, graph_file);
	tcase_add_test(t, no_stack_tools);
	tcase_add_test(t, mpt_run_plain_program);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
