/* Selftests of fault injection (DESIGN §8, HAZARDS rows 6, 7 and 12): each
 * rule form of the issue provokes its bug in a buggy program and leaves
 * the correct twin passing; every applied fault is in the report with its
 * process and call count; one seed gives one fault list; bad rules exit 2
 * naming the token; --pipe-capacity turns a small join-before-drain into
 * the deadlock. Programs: selftests/plain/inject.c (mpt-run) and
 * selftests/progs/inject.c (the API). */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static json_object *reports[64];
static int nreports;

static void free_reports(void)
{
	while (nreports > 0)
		json_object_put(reports[--nreports]);
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

/* Runs `mpt-run OPTS... -- plain/inject CASE [ARG]` (opts NULL-terminated);
 * returns the test's JSON object and mpt-run's exit code in *status. */
static json_object *run_plain(const char *const *opts, const char *which,
			      const char *arg, int *status)
{
	static int n;
	char name[64];
	snprintf(name, sizeof name, "inject-%d.json", n++);
	char *json = path_in(scratch(), name);
	char *jopt;
	if (asprintf(&jopt, "--json=%s", json) < 0)
		abort();
	char *argv[16];
	int k = 0;
	argv[k++] = bin("mpt-run");
	argv[k++] = jopt;
	argv[k++] = "--timeout=10s";
	for (int i = 0; opts && opts[i]; i++)
		argv[k++] = (char *)opts[i];
	argv[k++] = "--";
	char *prog = bin("selftests/plain/inject");
	argv[k++] = prog;
	argv[k++] = (char *)which;
	if (arg)
		argv[k++] = (char *)arg;
	argv[k] = NULL;
	struct run_result r = run_cmd(argv, NULL, 60);
	json_object *rep = keep(json_load(json));
	ck_assert_msg(rep != NULL, "%s: no report: %s", which, r.err);
	*status = r.status;
	run_free(&r);
	free(argv[0]);
	free(jopt);
	free(prog);
	free(json);
	return json_test(rep, "inject");
}

static json_object *faults(json_object *t)
{
	json_object *fs;
	if (!json_object_object_get_ex(t, "faults", &fs))
		return NULL;
	return fs;
}

/* The test has exactly one applied fault, and it is this one. */
static void one_fault(json_object *t, const char *process, const char *call,
		      long long count, const char *action)
{
	json_object *fs = faults(t);
	ck_assert_msg(fs && json_object_array_length(fs) == 1, "faults: %s",
		      fs ? json_object_to_json_string(fs) : "none");
	json_object *f = json_object_array_get_idx(fs, 0);
	ck_assert_str_eq(json_str(f, "process"), process);
	ck_assert_str_eq(json_str(f, "call"), call);
	ck_assert_int_eq(json_int(f, "count"), count);
	ck_assert_str_eq(json_str(f, "action"), action);
	ck_assert_int_gt(json_int(f, "pid"), 1);
}

static void passes(json_object *t, int status, const char *name)
{
	json_object *fs;
	ck_assert(json_object_object_get_ex(t, "findings", &fs));
	ck_assert_msg(json_object_array_length(fs) == 0, "%s: %s", name,
		      json_object_to_json_string(fs));
	ck_assert_str_eq(json_str(t, "status"), "pass");
	ck_assert_int_eq(status, 0);
}

static void fails_with(json_object *t, int status, const char *kind)
{
	ck_assert_str_eq(json_str(t, "status"), "fail");
	ck_assert_msg(json_count_kind(t, kind) >= 1, "no %s finding", kind);
	ck_assert_int_eq(status, 1);
}

/* The buggy program fails with kind and the fault; the twin passes. */
static void pair(const char *rule, const char *buggy, const char *fixed,
		 const char *kind, const char *process, const char *call,
		 long long count, const char *action)
{
	const char *opts[] = {rule, NULL};
	int st;
	json_object *t = run_plain(opts, buggy, NULL, &st);
	fails_with(t, st, kind);
	one_fault(t, process, call, count, action);
	t = run_plain(opts, fixed, NULL, &st);
	passes(t, st, fixed);
	one_fault(t, process, call, count, action);
	/* Without the rule the buggy program passes, and nothing is listed. */
	t = run_plain(NULL, buggy, NULL, &st);
	ck_assert_msg(faults(t) == NULL, "faults without a rule");
	passes(t, st, buggy);
}

START_TEST(eintr_read)
{
	pair("--inject=read:error=EINTR:nth=1@p0", "eintr", "eintr-fixed",
	     "exit-status", "p0", "read", 1, "error=EINTR");
}
END_TEST

START_TEST(short_write)
{
	pair("--inject=write:short=100:nth=1@p0", "short", "short-fixed",
	     "exit-status", "p0", "write", 1, "short=100");
}
END_TEST

START_TEST(kill_at_point)
{
	pair("--inject=point=child.locked:kill=SIGKILL", "lock-kill", "lock-kill-fixed",
	     "lock-held", "p0.1", "point=child.locked", 1, "kill=SIGKILL");
}
END_TEST

START_TEST(fork_eagain)
{
	pair("--inject=fork:error=EAGAIN:nth=2", "fork", "fork-fixed",
	     "exit-status", "p0", "fork", 2, "error=EAGAIN");
}
END_TEST

START_TEST(waitpid_every)
{
	pair("--inject=waitpid:error=EINTR:every=3", "waitpid", "waitpid-fixed",
	     "exit-status", "p0", "waitpid", 3, "error=EINTR");
}
END_TEST

/* process, call, count and action of every fault (pids differ per run). */
static char *fault_list(json_object *t)
{
	json_object *fs = faults(t);
	size_t n = fs ? json_object_array_length(fs) : 0;
	char *out = strdup("");
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(fs, i);
		char *next;
		if (asprintf(&next, "%s%s %s %lld %s;", out, json_str(f, "process"),
			     json_str(f, "call"), json_int(f, "count"),
			     json_str(f, "action")) < 0)
			abort();
		free(out);
		out = next;
	}
	return out;
}

START_TEST(delay_seeded)
{
	const char *s1[] = {"--seed=1", "--inject=write:delay=5ms:p=0.2", NULL};
	const char *s2[] = {"--seed=2", "--inject=write:delay=5ms:p=0.2", NULL};
	int st;
	json_object *a = run_plain(s1, "delays", NULL, &st);
	passes(a, st, "delays seed 1");
	json_object *fs = faults(a);
	/* 50 writes at p=0.2: some, not all, are delayed; all listed. */
	ck_assert_msg(fs && json_object_array_length(fs) >= 2 &&
		      json_object_array_length(fs) < 50, "faults: %s",
		      fs ? json_object_to_json_string(fs) : "none");
	for (size_t i = 0; i < json_object_array_length(fs); i++) {
		json_object *f = json_object_array_get_idx(fs, i);
		ck_assert_str_eq(json_str(f, "call"), "write");
		ck_assert_str_eq(json_str(f, "action"), "delay=5ms");
	}
	json_object *b = run_plain(s1, "delays", NULL, &st);
	json_object *c = run_plain(s2, "delays", NULL, &st);
	char *la = fault_list(a), *lb = fault_list(b), *lc = fault_list(c);
	ck_assert_str_eq(la, lb);            /* same seed, same faults */
	ck_assert_str_ne(la, lc);            /* another seed, others */
	free(la);
	free(lb);
	free(lc);
}
END_TEST

/* The human report lists the faults of a failed test. */
START_TEST(human_lists_faults)
{
	char *argv[] = {bin("mpt-run"), "--inject=read:error=EINTR:nth=1@p0", "--",
			bin("selftests/plain/inject"), "eintr", NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(r.out, "injected error=EINTR at read call 1 in p0 (pid "),
		      "%s", r.out);
	run_free(&r);
	free(argv[0]);
	free(argv[3]);
}
END_TEST

START_TEST(pipe_capacity)
{
	const char *cap[] = {"--pipe-capacity=4096", NULL};
	int st;
	json_object *t = run_plain(NULL, "join-drain", "6000", &st);
	passes(t, st, "join-drain");
	t = run_plain(cap, "join-drain", "6000", &st);
	fails_with(t, st, "deadlock");
	json_object *f = expect_only(t, "join-drain 6000", "deadlock", "p0");
	contains(json_str(f, "message"), "waits in waitpid() for p0.1, which waits in "
					 "write() on a full pipe only p0 reads");
	const char *detail = json_str(f, "detail");
	contains(detail, "(join-before-drain)");
	contains(detail, "write(fd ");
	contains(detail, "pipe:[");
	contains(detail, "6000 bytes)");
	contains(detail, "the pipe holds 4096 of 4096 bytes: it is full");
	contains(detail, "its read end is held only by p0 (fd ");
	t = run_plain(cap, "join-drain-fixed", "6000", &st);
	passes(t, st, "join-drain-fixed");
}
END_TEST

/* --pipe-capacity below a page, emulated by the shim: the programs of
 * selftests/plain/pipecap.c under mpt-run (opts NULL-terminated); returns
 * the test's JSON object and mpt-run's exit code in *status. */
static json_object *run_pipecap(const char *const *opts, const char *which,
				const char *arg, int *status)
{
	static int n;
	char name[64];
	snprintf(name, sizeof name, "pipecap-%d.json", n++);
	char *json = path_in(scratch(), name);
	char *jopt = opt("--json", json);
	char *argv[16];
	int k = 0;
	argv[k++] = bin("mpt-run");
	argv[k++] = jopt;
	argv[k++] = "--timeout=20s";
	for (int i = 0; opts && opts[i] && k < 11; i++)
		argv[k++] = (char *)opts[i];
	argv[k++] = "--";
	char *prog = bin("selftests/plain/pipecap");
	argv[k++] = prog;
	argv[k++] = (char *)which;
	argv[k++] = (char *)arg;
	argv[k] = NULL;
	struct run_result r = run_cmd(argv, NULL, 90);
	json_object *rep = keep(json_load(json));
	ck_assert_msg(rep != NULL, "%s %s: no report: %s", which, arg, r.err);
	*status = r.status;
	json_object *t = json_test(rep, "pipecap");
	ck_assert_msg(t != NULL, "%s %s: no test in the report", which, arg);
	/* The program's complaints, for a failure message. */
	if (r.status != 0 && r.status != 1)
		ck_abort_msg("%s %s: mpt-run exited %d: %s", which, arg, r.status, r.err);
	run_free(&r);
	free(argv[0]);
	free(jopt);
	free(prog);
	free(json);
	return t;
}

/* A clean pass: no finding, so the program found every byte in place. */
static void pipecap_passes(const char *capacity, const char *which, const char *arg)
{
	const char *opts[] = {capacity, NULL};
	int st;
	json_object *t = run_pipecap(capacity ? opts : NULL, which, arg, &st);
	char name[96];
	snprintf(name, sizeof name, "%s %s %s", capacity ? capacity : "(no capacity)",
		 which, arg);
	expect_clean(t, name);
	ck_assert_int_eq(st, 0);
}

/* The deadlock of a held-back write reads as that of a real full pipe:
 * the one line, the pattern, the write with its descriptor, pipe and byte
 * count, the fill at the emulated capacity and the reader. */
static json_object *pipecap_deadlock(const char *capacity, const char *which,
				     const char *arg)
{
	const char *opts[] = {capacity, NULL};
	int st;
	json_object *t = run_pipecap(opts, which, arg, &st);
	json_object *f = expect_only(t, which, "deadlock", "p0");
	ck_assert_int_eq(st, 1);
	return f;
}

/* The acceptance: join-before-drain with a small payload
 * deadlocks only under --pipe-capacity. */
START_TEST(pipe_capacity_below_page)
{
	pipecap_passes(NULL, "join", "10");
	json_object *f = pipecap_deadlock("--pipe-capacity=1", "join", "10");
	const char *msg = json_str(f, "message"), *detail = json_str(f, "detail");
	contains(msg, "deadlock: p0 (pid ");
	contains(msg, "waits in waitpid() for p0.1, which waits in write() on a full "
		      "pipe only p0 reads");
	contains(detail, "(join-before-drain)");
	contains(detail, "└─ p0.1 (pid ");
	contains(detail, "waits in write(fd ");
	contains(detail, " → pipe:[");
	contains(detail, ", 10 bytes)");
	contains(detail, "held back by --pipe-capacity=1");
	contains(detail, "the pipe holds 1 of 1 bytes: it is full");
	contains(detail, "its read end is held only by p0 (fd ");
	contains(detail, "Fix: read the pipe to EOF before you waitpid() the writer.");
	/* The correct twin passes, and every byte arrived in order. */
	pipecap_passes("--pipe-capacity=1", "drain", "10");
	pipecap_passes("--pipe-capacity=1", "drain", "5000");
	pipecap_passes("--pipe-capacity=100", "drain", "5000");
	pipecap_passes("--pipe-capacity=4095", "drain", "100000");
	/* writev, cut in pieces the same way. */
	f = pipecap_deadlock("--pipe-capacity=1", "join-writev", "10");
	contains(json_str(f, "message"), "which waits in writev() on a full pipe only p0 reads");
	contains(json_str(f, "detail"), "waits in writev(fd ");
	pipecap_passes("--pipe-capacity=7", "drain-writev", "5000");
	/* Just below a page, a page-sized payload no longer fits. */
	pipecap_passes("--pipe-capacity=4095", "join", "4095");
	f = pipecap_deadlock("--pipe-capacity=4095", "join", "4096");
	contains(json_str(f, "detail"), "the pipe holds 4095 of 4095 bytes: it is full");
}
END_TEST

/* Named pipes (mkfifo) are held to the capacity too. */
START_TEST(pipe_capacity_fifo)
{
	pipecap_passes(NULL, "fifo", "10");
	json_object *f = pipecap_deadlock("--pipe-capacity=3", "fifo", "10");
	contains(json_str(f, "message"), "which waits in write() on a full pipe only p0 reads");
	contains(json_str(f, "detail"), "the pipe holds 3 of 3 bytes: it is full");
	contains(json_str(f, "detail"), "/fifo (deleted), 10 bytes)");
	pipecap_passes("--pipe-capacity=3", "fifo-drain", "1000");
}
END_TEST

/* A non-blocking writer at capacity gets EAGAIN, and a short count when
 * some bytes fit; the program checks each result (so it fails without the
 * emulation, where all 100 bytes fit). */
START_TEST(pipe_capacity_nonblock)
{
	pipecap_passes("--pipe-capacity=10", "nonblock", "10");
	const char *none[] = {NULL};
	int st;
	json_object *t = run_pipecap(none, "nonblock", "10", &st);
	expect_only(t, "nonblock without the capacity", "exit-status", "p0");
}
END_TEST

/* A signal during a held-back write: the short count, then EINTR, then
 * with SA_RESTART a write that completes once the reader drains. */
START_TEST(pipe_capacity_signals)
{
	pipecap_passes("--pipe-capacity=1", "signal", "1");
	pipecap_passes("--pipe-capacity=7", "signal", "7");
}
END_TEST

/* The watchdog: a writer held back while its reader keeps draining, slowly,
 * is never a deadlock; a poll() of the program's own next to a held-back
 * write stays a poll() in the report. */
START_TEST(pipe_capacity_watchdog)
{
	pipecap_passes("--pipe-capacity=3", "slow-drain", "10");
	json_object *f = pipecap_deadlock("--pipe-capacity=1", "poll-in", "10");
	const char *msg = json_str(f, "message");
	contains(msg, "deadlock: p0 (pid ");
	contains(msg, ") waits in poll() with no timeout, on descriptors only p0.1 could "
		      "make ready, which waits in write() on a full pipe only p0 reads");
	contains(json_str(f, "detail"), " in; no timeout)");
	pipecap_passes(NULL, "poll-in", "10");
}
END_TEST

START_TEST(sched_perturb)
{
	const char *p[] = {"--seed=7", "--sched=perturb", NULL};
	int st;
	json_object *t;
	t = run_plain(p, "delays", NULL, &st);
	passes(t, st, "delays perturbed");
	t = run_plain(p, "waitpid-fixed", NULL, &st);
	passes(t, st, "waitpid perturbed");
}
END_TEST

/* Bad rules and unavailable options: exit 2, one line naming the token. */
static void rejected(const char *arg, const char *token)
{
	char *argv[] = {bin("mpt-run"), (char *)arg, "--", "true", NULL};
	struct run_result r = run_cmd(argv, NULL, 30);
	ck_assert_msg(r.status == 2, "%s: exit %d", arg, r.status);
	ck_assert_msg(strstr(r.err, token), "%s: \"%s\" not in: %s", arg, token, r.err);
	ck_assert_msg(count_str(r.err, "\n") == 1, "%s: not one line: %s", arg, r.err);
	run_free(&r);
	free(argv[0]);
}

START_TEST(bad_rules)
{
	rejected("--inject=read:error=EBOGUS", "\"EBOGUS\"");
	rejected("--inject=write:short=-3", "\"-3\"");
	rejected("--inject=point=:kill", "point=");
	rejected("--inject=nonsense", "\"nonsense\"");
	rejected("--inject=read:error=EINTR:p=1.5", "\"1.5\"");
	rejected("--inject=fork:error=EINTR", "fork cannot fail with \"EINTR\"");
	rejected("--pipe-capacity=lots", "--pipe-capacity=lots");
	rejected("--pipe-capacity=0", "--pipe-capacity=0 — not a pipe capacity");
	rejected("--pipe-capacity=-1", "--pipe-capacity=-1 — not a pipe capacity");
	rejected("--pipe-capacity=", "expected a number of bytes from 1 to ");
	rejected("--pipe-capacity=4096x", "--pipe-capacity=4096x");
	rejected("--pipe-capacity=99999999999999999999999", "not a pipe capacity");
	{
		/* One more than the system's largest pipe. */
		long max = read_int_file("/proc/sys/fs/pipe-max-size");
		char arg[64];
		snprintf(arg, sizeof arg, "--pipe-capacity=%ld", (max > 0 ? max : 1048576) + 1);
		rejected(arg, "larger than the largest pipe of this system");
	}
	rejected("--sched=serial", "not available yet");
	rejected("--sched=fast", "--sched=fast");
	rejected("--explore=3", "not available yet");
}
END_TEST

/* The API: the same rules apply to MPT_TESTs and their children. */
START_TEST(api)
{
	char *json = path_in(scratch(), "api.json");
	char *jopt;
	if (asprintf(&jopt, "--json=%s", json) < 0)
		abort();
	char *argv[] = {bin("selftests/progs/inject"), jopt,
			"--inject=read:error=EINTR:nth=1@p0", "--filter=inject/eintr*", NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	ck_assert_int_eq(r.status, 1);
	json_object *rep = keep(json_load(json));
	ck_assert(rep != NULL);
	json_object *t = json_test(rep, "inject/eintr_buggy");
	ck_assert_int_eq(json_count_kind(t, "assertion"), 1);
	one_fault(t, "p0", "read", 1, "error=EINTR");
	ck_assert_str_eq(json_str(json_test(rep, "inject/eintr_fixed"), "status"), "pass");
	run_free(&r);

	argv[2] = "--inject=point=child.locked:kill=SIGKILL";
	argv[3] = "--filter=inject/lock_kill*";
	r = run_cmd(argv, NULL, 60);
	ck_assert_int_eq(r.status, 1);
	rep = keep(json_load(json));
	t = json_test(rep, "inject/lock_kill_buggy");
	ck_assert_int_eq(json_count_kind(t, "lock-held"), 1);
	one_fault(t, "p0.1", "point=child.locked", 1, "kill=SIGKILL");
	t = json_test(rep, "inject/lock_kill_fixed");
	ck_assert_str_eq(json_str(t, "status"), "pass");
	one_fault(t, "p0.1", "point=child.locked", 1, "kill=SIGKILL");
	run_free(&r);
	free(argv[0]);
	free(jopt);
	free(json);
}
END_TEST

/* ---- the other injectable calls (selftests/plain/inject_calls.c) ---------- */

/* `mpt-run OPTS... -- plain/inject_calls CASE` (opts NULL-terminated): the
 * test's JSON object, mpt-run's exit code in *status. */
static json_object *run_calls(const char *const *opts, const char *which, int *status)
{
	static int n;
	char name[64];
	snprintf(name, sizeof name, "calls-%d.json", n++);
	char *json = path_in(scratch(), name);
	char *jopt = opt("--json", json);
	char *argv[16];
	int k = 0;
	argv[k++] = bin("mpt-run");
	argv[k++] = jopt;
	argv[k++] = "--timeout=10s";
	for (int i = 0; opts && opts[i]; i++)
		argv[k++] = (char *)opts[i];
	argv[k++] = "--";
	char *prog = bin("selftests/plain/inject_calls");
	argv[k++] = prog;
	argv[k++] = (char *)which;
	argv[k] = NULL;
	struct run_result r = run_cmd(argv, NULL, 60);
	json_object *rep = keep(json_load(json));
	ck_assert_msg(rep != NULL, "%s: no report: %s", which, r.err);
	*status = r.status;
	run_free(&r);
	free(argv[0]);
	free(jopt);
	free(prog);
	free(json);
	return json_test(rep, "inject_calls");
}

/* The buggy case fails with exactly one finding, kind from process; the
 * twin passes; both list the one applied fault; without the rule the
 * buggy case passes too. */
static void calls_pair(const char *rule, const char *buggy, const char *fixed,
		       const char *kind, const char *process, const char *call,
		       long long count, const char *action)
{
	const char *opts[] = {rule, NULL};
	int st;
	json_object *t = run_calls(opts, buggy, &st);
	expect_only(t, "inject_calls", kind, process);
	ck_assert_int_eq(st, 1);
	one_fault(t, process, call, count, action);
	t = run_calls(opts, fixed, &st);
	passes(t, st, fixed);
	one_fault(t, process, call, count, action);
	t = run_calls(NULL, buggy, &st);
	ck_assert_msg(faults(t) == NULL, "faults without a rule");
	passes(t, st, buggy);
}

/* A client that gives up on the first ECONNREFUSED, against one that
 * retries, on a real listening AF_UNIX socket. */
START_TEST(connect_refused)
{
	calls_pair("--inject=connect:error=ECONNREFUSED:nth=1@p0", "connect", "connect-fixed",
		   "exit-status", "p0", "connect", 1, "error=ECONNREFUSED");
}
END_TEST

START_TEST(recv_eintr)
{
	calls_pair("--inject=recv:error=EINTR:nth=1@p0", "recv", "recv-fixed", "exit-status",
		   "p0", "recv", 1, "error=EINTR");
}
END_TEST

/* recvfrom and recvmsg are counted as recv: the second of them (recvmsg)
 * is recv call 2, and the program, which retries, passes. */
START_TEST(recv_counts_recvfrom_and_recvmsg)
{
	const char *opts[] = {"--inject=recv:error=EINTR:nth=2@p0", NULL};
	int st;
	json_object *t = run_calls(opts, "recv-family", &st);
	passes(t, st, "recv-family");
	one_fault(t, "p0", "recv", 2, "error=EINTR");
}
END_TEST

/* One writev assumed to write all 60 bytes loses 53 under short=7 (the
 * reader child checks, and the parent exits with its verdict); the loop
 * that goes on from where writev stopped passes. Both check that the
 * shim left their iovec array alone. */
START_TEST(writev_short)
{
	calls_pair("--inject=writev:short=7:nth=1@p0", "writev", "writev-fixed",
		   "exit-status", "p0", "writev", 1, "short=7");
}
END_TEST

/* An unchecked malloc that returns NULL crashes; the checked one copes.
 * Under ASan the allocator is the sanitizer's and malloc rules do not
 * fire (README); the plain program runs natively under
 * MPT_SELFTEST_VALGRIND, where only mpt-run is under memcheck. */
START_TEST(malloc_enomem)
{
#ifdef __SANITIZE_ADDRESS__
	return; /* skipped: the ASan build leaves the allocator to the sanitizer */
#endif
	calls_pair("--inject=malloc:error=ENOMEM:nth=3@p0", "malloc", "malloc-fixed", "crash",
		   "p0", "malloc", 3, "error=ENOMEM");
	calls_pair("--inject=realloc:error=ENOMEM:nth=2@p0", "realloc", "realloc-fixed",
		   "crash", "p0", "realloc", 2, "error=ENOMEM");
}
END_TEST

START_TEST(waitid_eintr)
{
	calls_pair("--inject=waitid:error=EINTR:nth=1@p0", "waitid", "waitid-fixed",
		   "exit-status", "p0", "waitid", 1, "error=EINTR");
}
END_TEST

START_TEST(trylock_ebusy)
{
	calls_pair("--inject=pthread_mutex_trylock:error=EBUSY:nth=1@p0", "trylock",
		   "trylock-fixed", "exit-status", "p0", "pthread_mutex_trylock", 1,
		   "error=EBUSY");
}
END_TEST

/* Errnos the call cannot return, short= on a call that moves no bytes,
 * functions counted under another name, and unknown calls: exit 2 with
 * one line naming the token and what is accepted. */
START_TEST(bad_rules_new_targets)
{
	rejected("--inject=connect:error=ENOMEM", "connect cannot fail with \"ENOMEM\"");
	rejected("--inject=malloc:error=EINTR", "malloc cannot fail with \"EINTR\"");
	rejected("--inject=waitid:error=ESRCH", "waitid cannot fail with \"ESRCH\"");
	rejected("--inject=sem_trywait:error=ETIMEDOUT", "\"ETIMEDOUT\"");
	rejected("--inject=recv:error=EBOGUS", "unknown errno \"EBOGUS\"");
	rejected("--inject=malloc:short=3", "\"short=3\" (expected short= on read, readv, "
		 "pread, write, writev, pwrite, send or recv)");
	rejected("--inject=sendto:error=EINTR", "\"sendto\" (expected send, which counts the "
		 "calls of send, sendto, sendmsg)");
	rejected("--inject=accept4:error=EINTR", "expected accept, which counts");
	rejected("--inject=poll:error=EINTR", "unknown target \"poll\"");
	rejected("--inject=frobnicate:delay=1ms", "or a call: read, readv, pread, write");
	rejected("--inject=frobnicate:delay=1ms", "sem_timedwait, malloc, calloc or realloc)");
}
END_TEST

/* The TAP output lists the faults in the test's YAML block, for a failed
 * test and a passing one, and Automake's tap-driver.sh still reads it. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s missing", path);
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

START_TEST(tap_lists_faults)
{
	char *argv[] = {bin("mpt-run"), "--tap", "--inject=connect:error=ECONNREFUSED:nth=1@p0",
			"--", bin("selftests/plain/inject_calls"), "connect", NULL};
	struct run_result r = run_cmd(argv, NULL, 60);
	ck_assert_int_eq(r.status, 1);
	contains(r.out, "not ok 1 - inject_calls\n  ---\n");
	contains(r.out, "\n  faults:\n    - process: \"p0\"\n      pid: ");
	contains(r.out, "\n      call: \"connect\"\n      count: 1\n"
		 "      action: \"error=ECONNREFUSED\"\n");
	run_free(&r);

	/* A passing test: its faults in a YAML block under the ok line,
	 * which tap-driver.sh takes as one PASS. */
	char *log = path_in(scratch(), "tap.log"), *trs = path_in(scratch(), "tap.trs");
	char *driver = path_in(srcdir(), "build-aux/tap-driver.sh");
	char *dargv[] = {"sh", driver, "--test-name", "inject-tap", "--log-file", log,
			 "--trs-file", trs, "--color-tests", "no", "--enable-hard-errors", "yes",
			 "--expect-failure", "no", "--", argv[0], "--tap",
			 "--inject=connect:error=ECONNREFUSED:nth=1@p0", "--", argv[4],
			 "connect-fixed", NULL};
	r = run_cmd(dargv, NULL, 60);
	ck_assert_msg(r.status == 0, "tap-driver: %s%s", r.out, r.err);
	char *t = slurp(trs), *l = slurp(log);
	contains(t, ":test-result: PASS");
	ck_assert_msg(!strstr(t, "ERROR") && !strstr(t, "FAIL"), "%s", t);
	contains(l, "ok 1 - inject_calls\n");
	contains(l, "\n  ---\n  faults:\n    - process: \"p0\"\n");
	contains(l, "      action: \"error=ECONNREFUSED\"\n  ...\n");
	run_free(&r);
	free(t);
	free(l);
	free(log);
	free(trs);
	free(driver);
	free(argv[0]);
	free(argv[4]);
}
END_TEST

/* JUnit: the faults open the test's <system-out>, and the file still
 * validates against selftests/junit.xsd. */
START_TEST(junit_lists_faults)
{
	const char *xmllint = getenv("XMLLINT");
	if (!xmllint || !*xmllint)
		xmllint = "xmllint";
	char *xml = path_in(scratch(), "calls-junit.xml");
	char *schema = path_in(srcdir(), "selftests/junit.xsd");
	const char *cases[] = {"connect", "connect-fixed"};
	for (int i = 0; i < 2; i++) {
		char *argv[] = {bin("mpt-run"), opt("--junit", xml),
				"--inject=connect:error=ECONNREFUSED:nth=1@p0", "--",
				bin("selftests/plain/inject_calls"), (char *)cases[i], NULL};
		struct run_result r = run_cmd(argv, NULL, 60);
		ck_assert_int_eq(r.status, i == 0 ? 1 : 0);
		run_free(&r);
		char *x = slurp(xml);
		contains(x, "<system-out>injected error=ECONNREFUSED at connect call 1 in p0 (pid ");
		ck_assert_int_eq(count_str(x, "<system-out>"), 1);
		if (i == 0)
			contains(x, "<failure message=");
		free(x);
		char *lint[] = {(char *)xmllint, "--noout", "--schema", schema, xml, NULL};
		struct run_result v = run_cmd(lint, NULL, 60);
		ck_assert_msg(v.status == 0, "xmllint: %s", v.err);
		run_free(&v);
		free(argv[0]);
		free(argv[1]);
		free(argv[4]);
	}
	free(xml);
	free(schema);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inject");
	TCase *tc = tcase_create("inject");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, bad_rules);
	tcase_add_test(tc, eintr_read);
	tcase_add_test(tc, short_write);
	tcase_add_test(tc, kill_at_point);
	tcase_add_test(tc, fork_eagain);
	tcase_add_test(tc, waitpid_every);
	tcase_add_test(tc, delay_seeded);
	tcase_add_test(tc, human_lists_faults);
	tcase_add_test(tc, pipe_capacity);
	tcase_add_test(tc, pipe_capacity_below_page);
	tcase_add_test(tc, pipe_capacity_fifo);
	tcase_add_test(tc, pipe_capacity_nonblock);
	tcase_add_test(tc, pipe_capacity_signals);
	tcase_add_test(tc, pipe_capacity_watchdog);
	tcase_add_test(tc, sched_perturb);
	tcase_add_test(tc, api);
	tcase_add_test(tc, connect_refused);
	tcase_add_test(tc, recv_eintr);
	tcase_add_test(tc, recv_counts_recvfrom_and_recvmsg);
	tcase_add_test(tc, writev_short);
	tcase_add_test(tc, malloc_enomem);
	tcase_add_test(tc, waitid_eintr);
	tcase_add_test(tc, trylock_ebusy);
	tcase_add_test(tc, bad_rules_new_targets);
	tcase_add_test(tc, tap_lists_faults);
	tcase_add_test(tc, junit_lists_faults);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
